# The Airflow image with gaggle's pinned dependencies; used by docker-compose.yaml.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt constraints.txt /opt/gaggle/
RUN pip install --no-cache-dir -r /opt/gaggle/requirements.txt -c /opt/gaggle/constraints.txt
