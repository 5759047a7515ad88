"""The catalogue entry schema: one pydantic model per YAML mapping, strict and closed.

Strict means no silent coercion (an unquoted arXiv id that YAML reads as a float is an error, not a
truncated id); closed (``extra="forbid"``) means a misspelt key is an error instead of lost data.
Vocabulary fields accept the slug string and report unknown values with the allowed list and a
close match, because that is the mistake contributors make most.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator
from pydantic_core import PydanticCustomError

from fedgen_registry.catalog.claims import Reproduction
from fedgen_registry.catalog.vocab import (
    Adversary,
    AggregationMethod,
    Capability,
    DPLevel,
    Fidelity,
    ImplementationStatus,
    Modality,
    ModelType,
    Participation,
    Partitioning,
    PrivacyMechanism,
    SharedArtifact,
    Strand,
    Topology,
    VenueType,
    Verdict,
    VerificationStatus,
    Vocabulary,
)
from fedgen_registry.suggest import did_you_mean

PAPER_ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*-(?:19|20)\d\d$"
ARXIV_PATTERN = r"^\d{4}\.\d{4,5}$"
DOI_PATTERN = r"^10\.\d{4,9}/\S+$"
URL_PATTERN = r"^https?://\S+$"


def _vocabulary(enum: type[Vocabulary]) -> BeforeValidator:
    def parse(value: Any) -> Vocabulary:
        if isinstance(value, enum):
            return value
        if isinstance(value, str):
            try:
                return enum(value)
            except ValueError:
                pass
        raise PydanticCustomError(
            "vocabulary",
            "{value} is not one of {allowed}{hint}",
            {
                "value": repr(value),
                "allowed": "[" + ", ".join(enum.values()) + "]",
                "hint": did_you_mean(value, enum.values()) if isinstance(value, str) else "",
            },
        )

    return BeforeValidator(parse)


def _unique(items: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    for item in items:
        if item in seen:
            raise PydanticCustomError("duplicate_item", "{item} is listed twice", {"item": repr(str(item))})
        seen.add(item)
    return items


def _non_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank", "must not be blank", {})
    return text


def _V(enum: type[Vocabulary]) -> Any:  # noqa: N802 - reads as a type constructor in annotations
    return Annotated[enum, _vocabulary(enum)]


def _Vs(enum: type[Vocabulary]) -> Any:  # noqa: N802
    return Annotated[list[_V(enum)], AfterValidator(_unique)]


Text = Annotated[str, AfterValidator(_non_blank)]
Url = Annotated[str, Field(pattern=URL_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, use_enum_values=False)


class Links(Strict):
    """Where to read and get the paper. ``code`` drives the derived ``code_available`` facet."""

    arxiv: Annotated[str, Field(pattern=ARXIV_PATTERN)] | None = Field(
        None, description="arXiv identifier without version, e.g. '1811.03850' (quote it in YAML)."
    )
    doi: Annotated[str, Field(pattern=DOI_PATTERN)] | None = Field(
        None, description="DOI, e.g. '10.1109/IPDPS.2019.00095'."
    )
    code: Url | None = Field(None, description="Official code repository, if the authors released one.")
    url: Url | None = Field(None, description="Another landing page (venue page, project page).")


class FLSetting(Strict):
    partitioning: _V(Partitioning) = Field(description="How data is split across parties.")  # type: ignore[valid-type]
    topology: _V(Topology) = Topology.CLIENT_SERVER  # type: ignore[valid-type]
    participation: _V(Participation) = Participation.UNSPECIFIED  # type: ignore[valid-type]
    one_shot: bool = Field(False, description="A single communication round.")
    asynchronous: bool = Field(False, description="Clients report at different times without a global barrier.")
    personalized: bool = Field(False, description="Each client ends with its own model (personalized FL).")


class Aggregation(Strict):
    method: _V(AggregationMethod)  # type: ignore[valid-type]
    shared: _Vs(SharedArtifact) = Field(default_factory=list, description="What leaves a client.")  # type: ignore[valid-type]
    description: Text = Field(description="One sentence: what is aggregated, by whom, how often.")


class DifferentialPrivacy(Strict):
    level: _V(DPLevel)  # type: ignore[valid-type]
    epsilon: Annotated[float, Field(gt=0)] | None = Field(
        None, description="As reported by the paper (smallest setting)."
    )
    delta: Annotated[float, Field(ge=0, lt=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _ints_are_floats(cls, data: Any) -> Any:
        # YAML writes epsilon: 1 as an int; strict mode would reject it, but it is a number all the same.
        if isinstance(data, dict):
            return {k: float(v) if k in ("epsilon", "delta") and type(v) is int else v for k, v in data.items()}
        return data


class Privacy(Strict):
    mechanisms: Annotated[_Vs(PrivacyMechanism), Field(min_length=1)]  # type: ignore[valid-type]
    dp: DifferentialPrivacy | None = None
    note: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Privacy:
        if PrivacyMechanism.NONE in self.mechanisms and len(self.mechanisms) > 1:
            raise PydanticCustomError("privacy_none", "'none' cannot be combined with other mechanisms", {})
        dp_mechanisms = {PrivacyMechanism.DP_SGD_LOCAL, PrivacyMechanism.CLIENT_LEVEL_DP, PrivacyMechanism.LOCAL_DP}
        if self.dp is not None and not dp_mechanisms & set(self.mechanisms):
            raise PydanticCustomError(
                "privacy_dp",
                "dp is set but mechanisms list none of {dp}",
                {"dp": sorted(m.value for m in dp_mechanisms)},
            )
        return self


class ThreatModel(Strict):
    adversary: _V(Adversary)  # type: ignore[valid-type]
    capabilities: _Vs(Capability) = Field(default_factory=list)  # type: ignore[valid-type]
    note: str = ""


class Data(Strict):
    modalities: Annotated[_Vs(Modality), Field(min_length=1)]  # type: ignore[valid-type]
    datasets: Annotated[list[str], AfterValidator(_unique)] = Field(
        default_factory=list, description="Datasets the paper reports on; empty when not seen in a source."
    )


class Implementation(Strict):
    """Which registered implementation runs the paper, and with which preset."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    preset: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")] = Field(
        description="Named settings of the implementation that reproduce this paper's setup."
    )
    status: _V(ImplementationStatus) = ImplementationStatus.PLANNED  # type: ignore[valid-type]
    fidelity: _V(Fidelity) | None = None  # type: ignore[valid-type]
    deviations: list[Text] = Field(default_factory=list, description="What the implementation simplifies.")

    @model_validator(mode="after")
    def _available_needs_fidelity(self) -> Implementation:
        if self.status is ImplementationStatus.AVAILABLE and self.fidelity is None:
            raise PydanticCustomError("fidelity_missing", "an available implementation must state its fidelity", {})
        return self


class Verification(Strict):
    status: _V(VerificationStatus)  # type: ignore[valid-type]
    bibliography_key: str | None = Field(
        None,
        description="Key of this paper in the project's checked bibliography (shared/bibliography*.yaml), if it is there.",
    )
    sources: Annotated[list[Url], AfterValidator(_unique)] = Field(
        default_factory=list, description="Public pages where the facts were seen."
    )
    note: str = ""

    @model_validator(mode="after")
    def _verified_needs_source(self) -> Verification:
        if self.status is VerificationStatus.VERIFIED and not self.sources:
            raise PydanticCustomError("no_source", "a verified entry needs at least one source URL", {})
        return self


class Paper(Strict):
    """One paper of the field: bibliographic facts, taxonomy, summary and its runnable implementation."""

    id: Annotated[str, Field(pattern=PAPER_ID_PATTERN)] = Field(
        description="Lowercase slug '<short-name>-<year>', equal to the file name without '.yaml'."
    )
    title: Text
    authors: Annotated[list[Text], Field(min_length=1)]
    year: Annotated[int, Field(ge=2000, le=2100)] = Field(description="Year of first public appearance.")
    venue: str | None = None
    venue_type: _V(VenueType) | None = Field(  # type: ignore[valid-type]
        None,
        description="What kind of venue 'venue' is (conference, journal, workshop, preprint), which picks the "
        "BibTeX entry type; preprint when no peer-reviewed venue was seen.",
    )
    links: Links = Field(default_factory=Links)
    strand: _V(Strand)  # type: ignore[valid-type]
    also_strands: _Vs(Strand) = Field(default_factory=list)  # type: ignore[valid-type]
    model_types: Annotated[_Vs(ModelType), Field(min_length=1)]  # type: ignore[valid-type]
    fl_setting: FLSetting
    aggregation: Aggregation
    privacy: Privacy
    threat_model: ThreatModel
    data: Data
    summary: Text = Field(
        description="2-4 sentences in our own words: problem, mechanism, what leaves a client, privacy."
    )
    implementation: Implementation | None = None
    verification: Verification
    _reproduction: Reproduction | None = PrivateAttr(None)
    """The stored ``fedgen reproduce`` result of its implementation's claim, attached by the loader."""

    @model_validator(mode="after")
    def _coherent(self) -> Paper:
        if self.strand in self.also_strands:
            raise PydanticCustomError(
                "also_strands", "also_strands repeats the primary strand {s}", {"s": repr(self.strand.value)}
            )
        if not re.search(r"-" + str(self.year) + r"$", self.id):
            raise PydanticCustomError(
                "id_year", "id {id} must end with the paper's year: -{year}", {"id": repr(self.id), "year": self.year}
            )
        return self

    @property
    def code_available(self) -> bool:
        return self.links.code is not None

    @property
    def strands(self) -> tuple[Strand, ...]:
        return (self.strand, *self.also_strands)

    @property
    def first_author(self) -> str:
        return self.authors[0]

    @property
    def implemented(self) -> bool:
        return self.implementation is not None and self.implementation.status is ImplementationStatus.AVAILABLE

    @property
    def reproduction(self) -> Verdict | None:
        """The verdict on its implementation's headline claim (pending until one is recorded; None if not run)."""
        if not self.implemented:
            return None
        return self._reproduction.verdict if self._reproduction else Verdict.PENDING

    @property
    def reproduction_result(self) -> Reproduction | None:
        """The stored result behind :attr:`reproduction`: the claim, the numbers, the checks."""
        return self._reproduction if self.implemented else None

    def with_reproduction(self, result: Reproduction | None) -> Paper:
        """This paper carrying the stored result of its implementation's claim (the loader's step)."""
        self._reproduction = result
        return self


def json_schema() -> dict[str, Any]:
    """The JSON Schema of one catalogue file, for editors (``# yaml-language-server: $schema=...``)."""
    schema = Paper.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "fedgen catalogue entry"
    return schema
