"""The learned reader beside the rules for services and ages: the rules answer, and the model
settles what it is nearly sure of. A small model with weights written here says exactly when it
is sure; the shipped one is measured by scripts/train-model and the blind sets."""

from __future__ import annotations

from datetime import date

from support import CORPUS

from responder.config import SERVICES, Config
from responder.model import Category
from responder.triage.classify import classify
from responder.triage.facts.age import settled_age
from responder.triage.facts.services import services
from responder.triage.learned import AgeWeights, Model, Weights
from responder.triage.parse import parse_file

TALK = "I need someone to talk to about my anxiety."  # the rules read individual therapy


def model(service_weights: dict[str, float] | None = None, age_weights: dict[str, float] | None = None, age_bias: float = -3.0) -> Model:
    """A model that knows one word, "xyzzy": its weight for each service named (the others 0, so
    that without the word every service has an even chance, sure of nothing)."""
    per_service = service_weights or {}
    return Model(
        idf={"xyzzy": 1.0},
        categories=Weights(labels=("crisis", "new_inquiry"), weights={"xyzzy": (0.0, 0.0)}, bias=(0.0, 0.0)),
        services=Weights(labels=SERVICES, weights={"xyzzy": tuple(per_service.get(s, 0.0) for s in SERVICES)}, bias=(0.0,) * len(SERVICES)),
        ages=AgeWeights(bias=age_bias, weights=age_weights or {}),
        crisis_threshold=0.5,
    )


SURE_OF_MEDICATION_ALONE = model({"medication": 5.0, "individual": -5.0})  # 0.993 and 0.007


def test_the_model_adds_and_drops_what_it_is_nearly_sure_of_and_says_so() -> None:
    text = f"{TALK} xyzzy"
    reasons: list[str] = []
    assert services(text, Category.NEW_INQUIRY, reasons) == ("individual",)
    reasons = []
    assert services(text, Category.NEW_INQUIRY, reasons, reading=SURE_OF_MEDICATION_ALONE.read(text, "email")) == ("medication",)
    assert 'model: asks for medication (0.99; "xyzzy")' in reasons
    assert 'model: does not ask for individual (0.01; "xyzzy")' in reasons
    assert reasons[-1] == "services: medication"


def test_where_the_model_is_unsure_the_rules_answer() -> None:
    unsure = model({"medication": 2.0, "individual": -2.0})  # 0.88 and 0.12: short of sure either way
    text = f"{TALK} xyzzy"
    reasons: list[str] = []
    assert services(text, Category.NEW_INQUIRY, reasons, reading=unsure.read(text, "email")) == ("individual",)
    assert reasons == ["services: individual"]
    assert services(TALK, Category.NEW_INQUIRY, [], reading=SURE_OF_MEDICATION_ALONE.read(TALK, "email")) == ("individual",)


def test_the_model_names_a_childs_or_a_teens_therapy_only_for_an_age_that_fits() -> None:
    """It reads words, not ages: "mi hijo" pulls toward teen whatever age follows."""
    sure_of_teen = model({"teen": 5.0})
    text = "Les escribo por mi hijo, tiene 22 años. Necesita terapia. xyzzy"
    reading = sure_of_teen.read(text, "email")
    assert "teen" not in services(text, Category.NEW_INQUIRY, [], ages=[22], reading=reading)
    assert "teen" in services(text, Category.NEW_INQUIRY, [], ages=[15], reading=reading)
    assert "teen" in services("Mi hijo necesita terapia. xyzzy", Category.NEW_INQUIRY, [], ages=[], reading=reading)


def test_a_current_client_is_never_given_a_service_by_the_model() -> None:
    text = "Can we move Thursday's session to 4? xyzzy"
    reading = SURE_OF_MEDICATION_ALONE.read(text, "email")
    assert services(text, Category.EXISTING_CLIENT, [], reading=reading) == ()
    assert services(text, Category.CRISIS, [], apart_from_risk=Category.EXISTING_CLIENT, reading=reading) == ()


# One feature: the number just before "xyzzy". With the bias of -2, at weight 5 that number is the
# age at 0.95, sure; at 2.5 at 0.62, likely; every other number at 0.12, not unlikely.
TEXT = "She is 9. Then 41 xyzzy."


def test_an_age_the_model_is_sure_of_outweighs_the_rules_unless_they_read_it_too() -> None:
    """The model weighs one number at a time: where the rules read its number among others (two
    children, a couple), the youngest they read stands."""
    sure = model(age_weights={"R1:xyzzy": 5.0}, age_bias=-2.0)
    assert settled_age([9], TEXT, None, "email", sure) == 41
    assert settled_age([], TEXT, None, "email", sure) == 41
    assert settled_age([41, 9], TEXT, None, "email", sure) == 9


def test_an_age_the_model_finds_likely_fills_in_only_where_the_rules_read_none() -> None:
    likely = model(age_weights={"R1:xyzzy": 2.5}, age_bias=-2.0)
    assert settled_age([9], TEXT, None, "email", likely) == 9
    assert settled_age([], TEXT, None, "email", likely) == 41
    assert settled_age([], "She is 9. Then 41.", None, "email", likely) is None  # nothing likely: no age
    assert settled_age([12, 9], "She is 9. Then 41.", None, "email", likely) == 9  # the rules' youngest


def test_the_model_never_names_a_babys_age_or_an_ordinal() -> None:
    sure = model(age_weights={"R1:xyzzy": 5.0, "R1:nd": 5.0}, age_bias=-2.0)
    assert settled_age([], "We have a 2 xyzzy at home.", None, "email", sure) is None
    assert settled_age([], "He is in 4th xyzzy grade.", None, "email", sure) is None
    assert settled_age([], "His 2nd grade teacher says so.", None, "email", sure) is None


def test_a_date_of_birth_is_a_candidate_for_the_model() -> None:
    """A date of birth gives an age no figure in the text says; the model weighs it as such."""
    born = model(age_weights={"derived": 6.0})
    assert settled_age([], "DOB: 03/14/1968. Seen twice, 41 minutes each.", date(2026, 11, 10), "email", born) == 58


def test_classify_asks_the_shipped_model_about_services_and_ages(config: Config) -> None:
    """Wired in, with the shipped weights, on two messages the rules alone read wrong: a mother's
    night feeding at 3 am that the service rules took for a child's age, and a grandmother's age
    in a message her granddaughter typed, in words no age rule lists."""
    postpartum = classify(parse_file(CORPUS / "training" / "blind26" / "052-postpartum-3am.eml"), config)
    assert postpartum.facts.services == ("individual",), postpartum.reasons
    assert any(reason.startswith("model: does not ask for child") for reason in postpartum.reasons), postpartum.reasons
    typed = classify(parse_file(CORPUS / "training" / "blind23" / "052-granddaughter-types-for-80yo.eml"), config)
    assert typed.facts.age == 80


def test_digits_of_other_scripts_are_read_and_superscripts_are_no_number() -> None:
    """Found by the hostile-input test: "¹" passes str.isdigit but is no decimal int() reads."""
    from responder.triage.learned import age_candidates

    assert [value for value, _ in age_candidates("she is ¹² and he is ٣", [], "email")] == [3]
