"""``python -m megapod`` runs the command line."""

from megapod.cli.main import run

if __name__ == "__main__":
    run()
