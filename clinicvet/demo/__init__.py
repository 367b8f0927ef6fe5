"""The bundled demo web: fictional clinic sites and the server that plays the internet for them."""
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
SITES_DIR = DEMO_DIR / "sites"
SEEDS_FILE = DEMO_DIR / "seeds.csv"
LABELS_FILE = DEMO_DIR / "labels.csv"
