"""Run every benchmark and print its figures."""

from bench import rewrite, validation

if __name__ == "__main__":
    rewrite.main()
    validation.main()
