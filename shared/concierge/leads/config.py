"""merchant.json `leads`: what a business request looks like, the questions asked, the rule that qualifies a lead,
and what each outcome says and links to. Absent: the shop has no lead flow.

The rule is code, not wording: every condition must hold (`LeadSettings.qualifies`), on answers checked against the
questions first (`LeadSettings.check_answers`): a number for a number question, one of the options for a choice,
yes or no for a yes/no question. The links come from here only; no engine and no model writes one.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from concierge.offers.catalogue import PROTECTED_ATTRIBUTES

# What an answer is once checked: a number (int, or float when it has a fraction), an option's label, or yes/no.
Answer = bool | int | float | str
AnswerKind = Literal["number", "choice", "yes_no"]

# Phrases that ask for the business line when a merchant names none of its own.
DEFAULT_REQUESTS = ("demo", "quote", "business account", "bulk order")
HTTPS = r"^https://[^\s<>\"]{3,300}$"
ANY_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
QUESTION_ID = r"^[a-z][a-z0-9_]{0,39}$"
# The words of a question that would ask for a protected attribute (offers never depend on one either).
PROTECTED_WORDS = re.compile(
    r"\b(?:age|how old|gender|sex|sexual orientation|ethnic\w*|race|nationality|religio\w*|disabilit\w*|pregnan\w*|"
    r"marital|married)\b",
    re.IGNORECASE,
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def phrase_key(text: str) -> str:
    """A phrase as answers are compared: lowercase words and digits, single spaces ("Within a month!" ->
    "within a month")."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("’", "'").replace("'", "")))


class ChoiceOption(_Model):
    """One option of a choice question: its label (what is recorded and shown) and other ways to say it."""

    label: str = Field(min_length=1, max_length=60, description="the option as the question offers it")
    also: list[str] = Field(
        default_factory=list,
        max_length=12,
        description="other words a customer may answer with ('asap', 'this month'), matched as whole phrases",
    )

    def phrases(self) -> list[str]:
        return [p for p in (phrase_key(self.label), *(phrase_key(a) for a in self.also)) if p]


class LeadQuestion(_Model):
    """One qualifying question: asked as `ask`, answered as its `kind` says."""

    id: str = Field(pattern=QUESTION_ID, description="the answer's name in the lead record and the event")
    ask: str = Field(min_length=3, max_length=240, description="the question as the customer reads it")
    kind: AnswerKind = Field(description="number (with a unit), choice (one of options) or yes_no")
    unit: str | None = Field(
        None, max_length=30, description="number: what is counted ('devices', 'people'); required for a number"
    )
    words: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="number: words that name the unit in a sentence ('laptops', 'team of', 'employees'), so that a "
        "number said next to one of them before the question is asked counts as its answer. Absent: the unit.",
    )
    min: Decimal = Field(Decimal(0), ge=0, description="number: the smallest answer accepted")
    max: Decimal | None = Field(None, gt=0, description="number: the largest answer accepted")
    options: list[str | ChoiceOption] = Field(
        default_factory=list,
        max_length=8,
        description="choice: the options, each a label or {label, also: [other ways to say it]}",
    )

    @field_validator("id")
    @classmethod
    def _not_protected(cls, value: str) -> str:
        if value in PROTECTED_ATTRIBUTES:
            raise ValueError(f"'{value}' is a protected attribute: a lead is never qualified on one")
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> LeadQuestion:
        where = f"question '{self.id}'"
        if PROTECTED_WORDS.search(self.ask):
            raise ValueError(f"{where}: ask names a protected attribute; a lead is never qualified on one")
        if self.kind == "number":
            if not self.unit:
                raise ValueError(f"{where}: a number question needs its unit ('devices', 'people')")
            if self.max is not None and self.max < self.min:
                raise ValueError(f"{where}: max ({self.max}) is below min ({self.min})")
        elif self.unit or self.words or self.max is not None or self.min != 0:
            raise ValueError(f"{where}: unit, words, min and max are for number questions only")
        if self.kind == "choice":
            labels = [phrase_key(o.label) for o in self.choices]
            if len(self.choices) < 2:
                raise ValueError(f"{where}: a choice needs at least two options")
            if len(set(labels)) != len(labels) or not all(labels):
                raise ValueError(f"{where}: two options have the same label (or one has no words)")
            said = [p for o in self.choices for p in o.phrases()]
            if len(set(said)) != len(said):
                raise ValueError(f"{where}: a phrase of its options names two of them")
        elif self.options:
            raise ValueError(f"{where}: options are for choice questions only")
        return self

    @property
    def choices(self) -> list[ChoiceOption]:
        return [o if isinstance(o, ChoiceOption) else ChoiceOption(label=o) for o in self.options]

    def option(self, said: str) -> ChoiceOption | None:
        """The option a label or one of its other phrases names exactly (case and punctuation aside)."""
        key = phrase_key(said)
        return next((o for o in self.choices if key and key in o.phrases()), None)

    def unit_words(self) -> list[str]:
        return [w for w in (phrase_key(w) for w in (self.words or [self.unit or ""])) if w]

    def check(self, value: Any) -> Answer:
        """The answer as recorded, or ValueError saying what this question accepts. A number may come as a number
        or as digits in a string ("40"); a choice as an option's label or one of its other phrases; yes/no as a
        boolean or the words yes/no/true/false."""
        if self.kind == "number":
            number = _number(value)
            if number is None:
                raise ValueError(f"'{self.id}' takes a number of {self.unit}")
            if number < self.min or (self.max is not None and number > self.max):
                top = f" and {self.max}" if self.max is not None else " or more"
                raise ValueError(f"'{self.id}' takes a number of {self.unit} of {self.min}{top}")
            return int(number) if number == number.to_integral_value() else float(number)
        if self.kind == "choice":
            option = self.option(value) if isinstance(value, str) else None
            if option is None:
                raise ValueError(f"'{self.id}' takes one of: {', '.join(o.label for o in self.choices)}")
            return option.label
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and phrase_key(value) in ("yes", "true", "no", "false"):
            return phrase_key(value) in ("yes", "true")
        raise ValueError(f"'{self.id}' takes yes or no")


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    elif isinstance(value, str) and re.fullmatch(r"\s*\d[\d,]*(?:\.\d+)?\s*", value):
        number = Decimal(value.strip().replace(",", ""))
    else:
        return None
    try:
        return number if number.is_finite() else None
    except InvalidOperation:
        return None


class LeadCondition(_Model):
    """One condition of the rule, on one question's answer: a number at least and/or at most a value, a choice one
    of some options, a yes/no equal to true or false."""

    question: str = Field(description="the id of the question it is about")
    at_least: Decimal | None = Field(None, ge=0, description="number questions")
    at_most: Decimal | None = Field(None, ge=0, description="number questions")
    one_of: list[str] | None = Field(None, min_length=1, description="choice questions: the options that qualify")
    equals: bool | None = Field(None, description="yes/no questions: the answer that qualifies")

    def holds(self, answer: Answer | None) -> bool:
        if answer is None:
            return False
        if self.equals is not None:
            return answer is self.equals
        if self.one_of is not None:
            return isinstance(answer, str) and phrase_key(answer) in {phrase_key(o) for o in self.one_of}
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            return False
        number = Decimal(str(answer))
        return (self.at_least is None or number >= self.at_least) and (self.at_most is None or number <= self.at_most)


class LeadOutcome(_Model):
    """What the customer is told and where they are sent: a sentence, then the link."""

    text: str = Field(
        min_length=3, max_length=400, description="the sentence that introduces the link, e.g. 'Book a call here:'"
    )
    link: str = Field(json_schema_extra={"pattern": HTTPS}, description="an https link")

    @field_validator("link")
    @classmethod
    def _https(cls, value: str) -> str:
        if not re.fullmatch(HTTPS, value):
            raise ValueError("should be an https link (https://…), with no spaces")
        return value

    @field_validator("text")
    @classmethod
    def _no_link(cls, value: str) -> str:
        if ANY_LINK.search(value):
            raise ValueError("holds a link: put it in `link`, the only link the outcome gives")
        return value

    def message(self) -> str:
        return f"{self.text.rstrip()} {self.link}"


class LeadSettings(_Model):
    """merchant.json `leads`."""

    name: str | None = Field(
        None, max_length=60, description="what the business line is called ('Kestrel for Business'); for people"
    )
    requests: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REQUESTS),
        min_length=1,
        max_length=20,
        description="the phrases that ask for it, matched as whole words in a customer's message ('demo', 'quote', "
        "'business account', 'bulk order'; a plural counts). Absent: " + ", ".join(DEFAULT_REQUESTS) + ".",
    )
    intro: str = Field(
        "Happy to help with that. A couple of quick questions first, so I can point you to the right place.",
        min_length=3,
        max_length=300,
        description="what the assistant says at once, before the first question",
    )
    questions: list[LeadQuestion] = Field(
        min_length=1, max_length=5, description="asked one at a time, in this order (typically two)"
    )
    qualify: list[LeadCondition] = Field(
        min_length=1, max_length=10, description="the rule: a lead qualifies when every condition holds"
    )
    qualified: LeadOutcome = Field(description="for a qualified lead: the calendar link and its sentence")
    not_qualified: LeadOutcome = Field(
        description="for the others: the alternative (the self-serve page, the normal order path) and its sentence"
    )

    @field_validator("requests")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        phrases = [p.strip() for p in value if p.strip()]
        if not phrases or any(not phrase_key(p) for p in phrases):
            raise ValueError("every request phrase needs a word ('demo', 'quote')")
        return phrases

    @field_validator("intro")
    @classmethod
    def _intro_without_link(cls, value: str) -> str:
        if ANY_LINK.search(value):
            raise ValueError("holds a link: the only links are the outcomes' `link`")
        return value

    @model_validator(mode="after")
    def _rule_fits_questions(self) -> LeadSettings:
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("leads.questions: two questions have the same id")
        questions = {q.id: q for q in self.questions}
        for n, condition in enumerate(self.qualify):
            where = f"leads.qualify.{n}"
            question = questions.get(condition.question)
            if question is None:
                raise ValueError(f"{where}: question '{condition.question}' is not one of {', '.join(ids)}")
            tests = {
                "at_least/at_most": condition.at_least is not None or condition.at_most is not None,
                "one_of": condition.one_of is not None,
                "equals": condition.equals is not None,
            }
            used = [name for name, present in tests.items() if present]
            wanted = {"number": "at_least/at_most", "choice": "one_of", "yes_no": "equals"}[question.kind]
            if used != [wanted]:
                raise ValueError(f"{where}: '{question.id}' is a {question.kind} question: use {wanted} (only)")
            if (
                condition.at_least is not None
                and condition.at_most is not None
                and condition.at_least > condition.at_most
            ):
                raise ValueError(f"{where}: at_least ({condition.at_least}) is above at_most ({condition.at_most})")
            for label in condition.one_of or []:
                option = question.option(label)
                if option is None or phrase_key(option.label) != phrase_key(label):
                    options = ", ".join(o.label for o in question.choices)
                    raise ValueError(f"{where}: '{label}' is not an option of '{question.id}' ({options})")
        if self.qualified.link == self.not_qualified.link:
            raise ValueError("leads: qualified and not_qualified give the same link, so the rule would change nothing")
        return self

    def question(self, question_id: str) -> LeadQuestion | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def check_answers(self, given: dict[str, Any]) -> dict[str, Answer]:
        """Every question's answer as recorded, in the questions' order; InvalidAnswers naming each problem (a
        question not answered, an answer the question does not take, an answer to no question)."""
        problems = [f"'{k}' is not one of the questions" for k in given if self.question(k) is None]
        checked: dict[str, Answer] = {}
        for question in self.questions:
            if question.id not in given or given[question.id] is None:
                problems.append(f"'{question.id}' is not answered ({question.ask})")
                continue
            try:
                checked[question.id] = question.check(given[question.id])
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise InvalidAnswers(problems)
        return checked

    def qualifies(self, answers: dict[str, Answer]) -> bool:
        """The rule: every condition holds on the checked answers."""
        return all(condition.holds(answers.get(condition.question)) for condition in self.qualify)

    def outcome(self, qualified: bool) -> LeadOutcome:
        return self.qualified if qualified else self.not_qualified


class InvalidAnswers(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
