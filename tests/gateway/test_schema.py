from harness_eval.gateway.schema import minimal_value

from .conftest import NEXT_SPEAKER


def test_next_speaker_check_hands_the_turn_to_the_user() -> None:
    assert minimal_value(NEXT_SPEAKER) == {"reasoning": "", "next_speaker": "user"}


def test_router_choice_takes_the_first_option() -> None:
    router = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "model_choice": {"type": "string", "enum": ["flash", "pro"]},
        },
        "required": ["reasoning", "model_choice"],
    }
    assert minimal_value(router)["model_choice"] == "flash"


def test_nested_arrays_unions_and_defaults() -> None:
    schema = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "minItems": 2, "items": {"type": ["integer", "null"], "minimum": 3}},
            "choice": {"anyOf": [{"type": "boolean"}, {"type": "string"}]},
            "mode": {"type": "string", "default": "fast"},
            "fixed": {"const": 7},
        },
    }
    assert minimal_value(schema) == {"items": [3, 3], "choice": False, "mode": "fast", "fixed": 7}


def test_only_required_properties_are_filled_when_required_is_given() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "number"}},
        "required": ["b"],
    }
    assert minimal_value(schema) == {"b": 0}
