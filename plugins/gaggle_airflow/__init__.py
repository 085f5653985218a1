"""Airflow glue for gaggle: the only package that imports Airflow.

The engine in `gaggle` stays importable and testable without Airflow; tasks,
hooks, the deferrable trigger and the UI plugin that call it live here.
"""
