"""Records exchanged by marsad's stages and their JSON Schemas (``*.schema.json`` beside this file)."""

from pathlib import Path

SCHEMA_DIR = Path(__file__).resolve().parent
