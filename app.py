"""The chat's entry point: ``python app.py [--host H] [--port P] [--docs DIR]``, the same as
``qa serve`` (the page itself is :mod:`qa.web`)."""

import sys

from qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
