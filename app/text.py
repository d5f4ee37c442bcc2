"""How the app compares what people type: Unicode-normalised, in any case."""

import unicodedata


def fold(text: str) -> str:
    """text as it is compared: NFKC-normalised and case-folded (UTR #36)."""
    return unicodedata.normalize("NFKC", text).casefold()
