"""``python -m rtcheck`` behaves exactly like the ``rtcheck`` command."""

from rtcheck.cli import main

if __name__ == "__main__":
    main()
