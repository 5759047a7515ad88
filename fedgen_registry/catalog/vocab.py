"""Controlled vocabularies of the catalogue.

Every facet a researcher filters on is a closed list, so two entries that mean the same thing cannot
spell it two ways. Each member carries a one-line definition: the site renders these as the glossary,
and a test fails if a member has none. Extend a vocabulary only when a real paper needs the new value,
and give it a definition that tells a newcomer when to use it.
"""

from __future__ import annotations

from enum import Enum


class Vocabulary(str, Enum):
    """A string enum whose members are declared as ``NAME = ("slug", "definition")``."""

    definition: str

    def __new__(cls, value: str, definition: str = "") -> Vocabulary:
        member = str.__new__(cls, value)
        member._value_ = value
        member.definition = definition
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def values(cls) -> list[str]:
        return [member.value for member in cls]


class Strand(Vocabulary):
    GENERATION = (
        "generation",
        "Trains a generative model (GAN, VAE, diffusion, LM, ...) on data spread across clients.",
    )
    ATTACK = (
        "attack",
        "Uses a generative model to attack federated learning: reconstruct, infer membership, poison or backdoor.",
    )
    DEFENSE = ("defense", "Uses a generative model to protect federated learning against leakage or poisoning.")
    HETEROGENEITY = (
        "heterogeneity",
        "Uses a generative model (or synthetic data) to cope with non-IID clients: distillation, augmentation, one-shot FL.",
    )


class VenueType(Vocabulary):
    CONFERENCE = ("conference", "Published in the proceedings of a conference or symposium (BibTeX @inproceedings).")
    JOURNAL = ("journal", "Published in a journal or magazine (BibTeX @article).")
    WORKSHOP = ("workshop", "Presented at a workshop, with or without proceedings (BibTeX @inproceedings).")
    PREPRINT = ("preprint", "Only a preprint (arXiv or similar) was seen: no peer-reviewed venue (BibTeX @misc).")


class ModelType(Vocabulary):
    GAN = ("gan", "Generative adversarial network: a generator trained against a discriminator.")
    CGAN = ("cgan", "Conditional GAN: generator and discriminator see a label or another conditioning input.")
    VAE = (
        "vae",
        "Variational autoencoder (including conditional VAEs): an encoder/decoder trained on a variational bound.",
    )
    DIFFUSION = (
        "diffusion",
        "Denoising diffusion or score-based model, including latent diffusion and text-to-image models.",
    )
    AUTOREGRESSIVE = (
        "autoregressive",
        "Autoregressive sequence model trained from scratch (RNN/LSTM/small transformer LM).",
    )
    LLM = ("llm", "Large pretrained language model, usually fine-tuned (fully or with adapters such as LoRA).")
    NORMALIZING_FLOW = (
        "normalizing-flow",
        "Normalizing flow or flow-matching model: an invertible or ODE-based map from noise to data.",
    )
    GMM = ("gmm", "Gaussian mixture model or a similar explicit mixture density used as the generator.")
    OTHER = (
        "other",
        "A generator outside these families (e.g. a feature generator for distillation, a marginal-based synthesizer, an inversion network).",
    )


class Partitioning(Vocabulary):
    HORIZONTAL = ("horizontal", "Clients hold different records with the same features (the common FL setting).")
    VERTICAL = ("vertical", "Parties hold different features (columns) of the same records, aligned by an id.")
    SPLIT = (
        "split",
        "Split learning: the model is cut between client and server, which exchange activations and gradients.",
    )
    HYBRID = ("hybrid", "Both horizontal and vertical splits, or a mix of split learning with horizontal averaging.")


class Topology(Vocabulary):
    CLIENT_SERVER = ("client-server", "A central server coordinates clients (star topology).")
    PEER_TO_PEER = ("peer-to-peer", "No central server: clients talk to neighbours (decentralized / gossip).")
    HIERARCHICAL = ("hierarchical", "Several tiers of aggregation, e.g. devices -> edge servers -> cloud.")


class Participation(Vocabulary):
    CROSS_SILO = ("cross-silo", "A few reliable organisations (hospitals, banks), each holding a large dataset.")
    CROSS_DEVICE = (
        "cross-device",
        "Many unreliable devices (phones, IoT), each holding little data; only some take part per round.",
    )
    UNSPECIFIED = ("unspecified", "The paper does not say which setting it targets, or its experiments fit both.")


class AggregationMethod(Vocabulary):
    PARAMETER_AVERAGING = (
        "parameter-averaging",
        "FedAvg-style (weighted) averaging of full model parameters or updates.",
    )
    WEIGHTED_AVERAGING = (
        "weighted-averaging",
        "Averaging with weights computed from a score (similarity, quality, MMD, trust) rather than data size.",
    )
    PARTIAL_AVERAGING = (
        "partial-averaging",
        "Only part of the model is averaged (some layers, adapters such as LoRA, a shared encoder); the rest stays local.",
    )
    ASYNCHRONOUS_MIXING = (
        "asynchronous-mixing",
        "Client updates arrive at different times and are mixed into the global model, usually weighted by staleness.",
    )
    ENCRYPTED_AGGREGATION = (
        "encrypted-aggregation",
        "Parameters are averaged under homomorphic encryption or secure multi-party computation.",
    )
    DISCRIMINATOR_FEEDBACK = (
        "discriminator-feedback",
        "A central generator is trained from the feedback (losses, gradients) of discriminators held by the clients.",
    )
    OUTPUT_AGGREGATION = (
        "output-aggregation",
        "Outputs of client models (logits, odds, scores) are combined instead of their parameters.",
    )
    KNOWLEDGE_DISTILLATION = (
        "knowledge-distillation",
        "The server (or clients) distil knowledge from an ensemble of models, often on generated data.",
    )
    SYNTHETIC_DATA_SHARING = (
        "synthetic-data-sharing",
        "Clients share synthetic samples (or exchange them with peers) and training uses the pooled samples.",
    )
    GENERATOR_UPLOAD = (
        "generator-upload",
        "Clients upload trained generative models (or their statistics) once, and the server builds on them.",
    )
    SPLIT_TRAINING = (
        "split-training",
        "Activations and gradients cross a cut layer between client and server parts of one model.",
    )
    STATISTICS_SHARING = (
        "statistics-sharing",
        "Clients share summary statistics (prototypes, latent means, marginals, mixture parameters).",
    )
    OTHER = ("other", "An aggregation that fits none of the above; the entry's description says what it is.")


class SharedArtifact(Vocabulary):
    MODEL_PARAMETERS = ("model-parameters", "Parameters or updates of the whole (task or generative) model.")
    GENERATOR_PARAMETERS = ("generator-parameters", "Parameters or updates of a generator or decoder.")
    DISCRIMINATOR_PARAMETERS = ("discriminator-parameters", "Parameters or updates of a discriminator or critic.")
    PARTIAL_PARAMETERS = (
        "partial-parameters",
        "Parameters of only some layers or modules (adapters, LoRA factors, a shared encoder, selected stages).",
    )
    GRADIENTS = ("gradients", "Gradients (of a model, or with respect to generated samples) sent to another party.")
    DISCRIMINATOR_OUTPUTS = (
        "discriminator-outputs",
        "Discriminator scores, odds or losses on samples sent by another party.",
    )
    SYNTHETIC_SAMPLES = ("synthetic-samples", "Data points produced by a generator, shared instead of real records.")
    GENERATIVE_MODEL = ("generative-model", "A whole trained generative model, typically uploaded once.")
    ACTIVATIONS = ("activations", "Intermediate activations (smashed data) at a cut layer.")
    EMBEDDINGS = ("embeddings", "Features, latent codes or prototypes computed from local data.")
    STATISTICS = ("statistics", "Summary statistics: moments, marginals, mixture parameters, label counts.")
    LOGITS = ("logits", "Predictions or soft labels of a local model on shared inputs.")
    TEXT = ("text", "Text such as prompts or captions describing local data.")


class PrivacyMechanism(Vocabulary):
    NONE = ("none", "No mechanism beyond keeping raw data on the client.")
    DP_SGD_LOCAL = (
        "dp-sgd-local",
        "Record-level differential privacy inside each client (DP-SGD: per-example clipping + Gaussian noise).",
    )
    CLIENT_LEVEL_DP = (
        "client-level-dp",
        "User/client-level differential privacy at aggregation (DP-FedAvg: clip each client's update, add noise to the sum).",
    )
    LOCAL_DP = (
        "local-dp",
        "Each client perturbs what it shares (e.g. Laplace or Gaussian noise on parameters or outputs) before it leaves.",
    )
    HOMOMORPHIC_ENCRYPTION = (
        "homomorphic-encryption",
        "Shared values are encrypted so the server aggregates ciphertexts.",
    )
    SECURE_AGGREGATION = (
        "secure-aggregation",
        "Masks or secret shares hide individual updates; the server learns only their sum.",
    )
    SECURE_MULTIPARTY = ("secure-multiparty", "General secure multi-party computation between parties or servers.")
    SYNTHETIC_DATA_ONLY = (
        "synthetic-data-only",
        "Privacy is argued from sharing only synthetic data or a generator, not formally guaranteed.",
    )
    OBFUSCATION = (
        "obfuscation",
        "Shared values are transformed to resist inversion (learned perturbation, bottlenecks, decoys, watermarking).",
    )
    OTHER = ("other", "Another mechanism; the entry's privacy note says which.")


class DPLevel(Vocabulary):
    RECORD = ("record", "Neighbouring datasets differ in one record of one client.")
    CLIENT = ("client", "Neighbouring datasets differ in all records of one client (user-level DP).")
    LOCAL = ("local", "Each client's released values are private on their own, without trusting any aggregator.")


class Adversary(Vocabulary):
    NONE = ("none", "The paper states no adversary; privacy comes only from data locality.")
    HONEST_BUT_CURIOUS_SERVER = (
        "honest-but-curious-server",
        "The server follows the protocol but tries to learn clients' data from what it receives.",
    )
    MALICIOUS_SERVER = (
        "malicious-server",
        "The server may deviate from the protocol (send crafted models, alter training).",
    )
    HONEST_BUT_CURIOUS_CLIENT = (
        "honest-but-curious-client",
        "A participant follows the protocol but tries to learn other clients' data from the global model.",
    )
    MALICIOUS_CLIENT = (
        "malicious-client",
        "One or more participants deviate: poison data or updates, implant backdoors, or actively probe others.",
    )
    EAVESDROPPER = ("eavesdropper", "An outsider who observes messages on the network.")
    DATA_CONSUMER = (
        "data-consumer",
        "Whoever receives the released generator or synthetic data and may try to infer the training records.",
    )


class Capability(Vocabulary):
    OBSERVES_UPDATES = ("observes-updates", "Sees individual clients' model updates or gradients.")
    OBSERVES_GLOBAL_MODEL = ("observes-global-model", "Sees the global model after each round.")
    OBSERVES_SHARED_OUTPUTS = (
        "observes-shared-outputs",
        "Sees what clients share besides parameters: synthetic samples, activations, scores or statistics.",
    )
    MODIFIES_GLOBAL_MODEL = ("modifies-global-model", "Can send clients crafted or altered model parameters.")
    SENDS_MALICIOUS_UPDATES = ("sends-malicious-updates", "Can upload arbitrary (e.g. scaled or poisoned) updates.")
    POISONS_LOCAL_DATA = (
        "poisons-local-data",
        "Can alter its own training data: wrong labels, triggers, injected samples.",
    )
    TRAINS_LOCAL_GENERATOR = (
        "trains-local-generator",
        "Trains its own generative model, e.g. using the global model as a discriminator.",
    )
    HAS_AUXILIARY_DATA = (
        "has-auxiliary-data",
        "Has public or prior data from the same distribution, or a pretrained generator.",
    )
    COLLUDES = ("colludes", "Several adversarial parties share what they see.")
    QUERIES_MODEL = ("queries-model", "Can only query a released model or read released synthetic data (black box).")


class Modality(Vocabulary):
    IMAGE = ("image", "Natural images (digits, objects, faces).")
    MEDICAL_IMAGE = ("medical-image", "Medical images: MRI, CT, X-ray, histopathology, retina.")
    TABULAR = ("tabular", "Rows with mixed numerical and categorical columns (records, EHR tables).")
    TEXT = ("text", "Natural language text: next-word prediction, instructions, dialogues.")
    TIME_SERIES = ("time-series", "Sensor readings, traffic, ECG and other sequences indexed by time.")
    AUDIO = ("audio", "Speech or other sound.")
    GRAPH = ("graph", "Graph-structured data: nodes and edges, molecules, networks.")
    OTHER = ("other", "Another kind of data; the entry's datasets say which.")


class Fidelity(Vocabulary):
    FAITHFUL = ("faithful", "The paper's algorithm as described, scaled down (smaller models, data, rounds).")
    ADAPTED = ("adapted", "The paper's core mechanism is kept; named parts are simplified (listed as deviations).")
    FAMILY = (
        "family",
        "The paper's contribution is not a new algorithm (e.g. an application study); it runs the shared family algorithm with the paper's settings.",
    )


class Verdict(Vocabulary):
    """What ``fedgen reproduce`` found for the headline claim of a paper's implementation."""

    REPRODUCED = ("reproduced", "Every comparison of the claim held on the seed means of a fresh run.")
    NOT_REPRODUCED = ("not-reproduced", "At least one comparison of the claim failed (the numbers say by how much).")
    NOT_CHECKABLE = (
        "not-checkable",
        "The claim cannot be checked on this machine (data that is not shipped, a scale out of reach); the reason is stated.",
    )
    PENDING = ("pending", "A registered implementation whose claim has no recorded result yet.")

    @property
    def label(self) -> str:
        return {"not-reproduced": "not reproduced", "not-checkable": "not checkable here"}.get(self.value, self.value)


class ImplementationStatus(Vocabulary):
    AVAILABLE = ("available", "A registered implementation runs this paper: `fedgen run <paper-id>`.")
    PLANNED = ("planned", "An implementation is planned under this id but not registered yet.")


class VerificationStatus(Vocabulary):
    VERIFIED = ("verified", "Title, year and first author were seen in at least one listed public source.")
    PARTIAL = ("partial", "Some facts were seen in a source; the note says which fields remain unconfirmed.")
    UNVERIFIED = ("unverified", "The facts have not been confirmed against a public source yet.")


ALL_VOCABULARIES: tuple[type[Vocabulary], ...] = (
    Strand,
    ModelType,
    Partitioning,
    Topology,
    Participation,
    AggregationMethod,
    SharedArtifact,
    PrivacyMechanism,
    DPLevel,
    Adversary,
    Capability,
    Modality,
    Fidelity,
    ImplementationStatus,
    Verdict,
    VerificationStatus,
    VenueType,
)
