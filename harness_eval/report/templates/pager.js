// Rows are built with textContent only: every string here may have come from the agent.
(function () {
  var data = JSON.parse(document.getElementById("trial-data").textContent);
  var ids = ["setup", "cell", "outcome", "behavior", "seed", "size"];
  var controls = {};
  ids.forEach(function (id) { controls[id] = document.getElementById("f-" + id); });
  var state = new URLSearchParams(location.hash.slice(1));
  var page = Number(state.get("page") || 0);
  ids.forEach(function (id) { if (state.has(id)) { controls[id].value = state.get(id); } });
  var tbody = document.querySelector("#trials tbody");

  function matches(t) {
    var run = data.runs[t[1]];
    var want = controls.behavior.value, seed = controls.seed.value.trim();
    return (!controls.setup.value || run.setup === controls.setup.value)
      && (!controls.cell.value || run.cell === controls.cell.value)
      && (!controls.outcome.value || t[4] === controls.outcome.value)
      && (!want || (want === "-" ? t[5].length === 0 : t[5].indexOf(want) >= 0))
      && (!seed || String(t[3]) === seed);
  }
  function cell(row, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    row.appendChild(td);
    return td;
  }
  function tag(parent, text, cls) {
    var span = document.createElement("span");
    span.className = "tag " + cls;
    span.textContent = text;
    parent.appendChild(span);
  }
  function render() {
    var shown = data.trials.filter(matches);
    var size = Number(controls.size.value);
    var pages = Math.max(1, Math.ceil(shown.length / size));
    page = Math.min(Math.max(page, 0), pages - 1);
    var rows = document.createDocumentFragment();
    shown.slice(page * size, (page + 1) * size).forEach(function (t) {
      var run = data.runs[t[1]], tr = document.createElement("tr");
      var first = cell(tr, "");
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = run.color;
      first.appendChild(swatch);
      first.appendChild(document.createTextNode(run.setup));
      cell(tr, run.cell);
      var link = document.createElement("a");
      link.href = data.trial_dir + "/" + t[0] + ".html";
      link.textContent = "trial " + t[2];
      cell(tr, "").appendChild(link);
      cell(tr, String(t[3]), "num");
      tag(cell(tr, ""), t[4], t[4]);
      var found = cell(tr, "");
      t[5].forEach(function (b) { tag(found, b, "behavior"); });
      cell(tr, t[6].toFixed(1) + " s", "num");
      cell(tr, t[7] + " / " + t[8], "num");
      cell(tr, t[9], "warn");
      rows.appendChild(tr);
    });
    tbody.replaceChildren(rows);
    var from = shown.length ? page * size + 1 : 0;
    document.getElementById("position").textContent =
      "trials " + from + "-" + Math.min(shown.length, (page + 1) * size) + " of " + shown.length;
    var next = new URLSearchParams();
    ids.forEach(function (id) { if (controls[id].value) { next.set(id, controls[id].value); } });
    if (page) { next.set("page", page); }
    history.replaceState(null, "", "#" + next.toString());
  }
  ids.forEach(function (id) {
    controls[id].addEventListener(id === "seed" ? "input" : "change", function () { page = 0; render(); });
  });
  document.getElementById("prev").addEventListener("click", function () { page -= 1; render(); });
  document.getElementById("next").addEventListener("click", function () { page += 1; render(); });
  render();
  if (data.live) {
    // The viewer answers "state" with a token that changes when a verdict is written; the filters and page
    // survive the reload in the address.
    setInterval(function () {
      fetch("state", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (s) {
        if (s.version !== data.version) { location.reload(); }
      }).catch(function () {});
    }, 2000);
  }
})();
