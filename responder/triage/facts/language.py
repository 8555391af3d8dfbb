"""The language to reply in: the practice replies in English and Spanish."""

from __future__ import annotations

import re

# Short, frequent words that tell Spanish from English (the practice's two reply languages).
_SPANISH = frozenset(
    "que de la el en y los las para con por una un mi mis tengo es no me se su lo como pero más hola gracias usted ustedes "
    "estoy está están nosotros nuestro nuestra hijo hija tiene quiero puedo necesito ayuda buenas buenos días tardes seguro "
    "cita terapia terapeuta también muy sí porque cuando donde desde hace".split()
)
_ENGLISH = frozenset(
    "the and to of a in is it you that for my i have with on this be are not we can do your at me so if or but "
    "would like am was our looking thanks hi hello please".split()
)


def language(text: str) -> str:
    """"es" for a message written in Spanish, else "en"."""
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    spanish = sum(word in _SPANISH for word in words)
    english = sum(word in _ENGLISH for word in words)
    return "es" if spanish >= 3 and spanish > english else "en"
