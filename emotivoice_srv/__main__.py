"""`python -m emotivoice_srv ...` is the same as the `emotivoice-srv` command."""
import sys

from .cli import main

sys.exit(main())
