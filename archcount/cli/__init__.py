"""The `archcount` command: shared options (a leaf), the app, one module per command."""


def main() -> None:
    """Console-script entry point (imports the app, and so typer, only when run)."""
    from archcount.cli.app import main as run

    run()
