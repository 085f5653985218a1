"""Run every benchmark and print its figures."""

from bench import rewrite

if __name__ == "__main__":
    rewrite.main()
