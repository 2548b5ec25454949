"""Entry point for ``python -m gan_cli``."""

from gan_cli.cli import main

if __name__ == "__main__":
    main()
