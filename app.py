"""Open the Workbench in the browser: `python app.py` serves it on http://127.0.0.1:7860.

    python app.py [--host HOST] [--port PORT] [--auth user:password] [--workspace DIR]

Runs, uploads and saved configs live in the workspace (default: the current folder).
"""

import sys

from workbench.ui.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
