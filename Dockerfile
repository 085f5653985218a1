# The Airflow image with gaggle's pinned dependencies; used by docker-compose.yaml.
# dags/, plugins/ and include/ are mounted by docker-compose.yaml; to bake them into an
# image for another deployment instead, COPY them to /opt/airflow/{dags,plugins,include}.
FROM apache/airflow:3.3.2-python3.11

# The local forge (the demo's code host) runs git.
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends git \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*
USER airflow

COPY requirements.txt constraints.txt /opt/gaggle/
RUN pip install --no-cache-dir -r /opt/gaggle/requirements.txt -c /opt/gaggle/constraints.txt
