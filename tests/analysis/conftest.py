import sys
from pathlib import Path

# The project is not installed into the venv; make `import analysis` work from any cwd.
ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
