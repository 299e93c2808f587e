"""The engine's version numbers, in a module that imports nothing, so every part of the engine (and
the app) can import them at the top without a cycle through the package. Versioned apart: a
fingerprint change means re-analysing files (restores); a verifier change (proof.VERIFIER_VERSION)
only re-verifies open candidates from stored analyses and renditions."""
ENGINE_VERSION = "2.0"
FINGERPRINT_VERSION = "fp 2.0"
