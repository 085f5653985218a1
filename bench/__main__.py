"""Run every benchmark and print its figures."""

from bench import airflow_fanout, distributed, forges, rewrite, scan, validation

if __name__ == "__main__":
    rewrite.main()
    scan.main()
    validation.main()
    forges.main()
    distributed.main()
    airflow_fanout.main()  # 1,800 repos: about an hour and a half on 2 cores
