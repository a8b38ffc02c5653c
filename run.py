"""Run mailflow from a checkout without installing it: `python run.py run --config FILE`."""
from mailflow.cli import main

raise SystemExit(main())
