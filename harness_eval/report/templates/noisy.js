document.getElementById("show-noisy").addEventListener("change", function (ev) {
  document.body.classList.toggle("show-noisy", ev.target.checked);
});
