"""Run every benchmark and print its figures."""

from bench import distributed, forges, rewrite, validation

if __name__ == "__main__":
    rewrite.main()
    validation.main()
    forges.main()
    distributed.main()
