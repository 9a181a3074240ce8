# One image for every Hermesh service; compose.yaml picks the service by its command.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng sox libsox-fmt-all libportaudio2 mosquitto-clients gcc \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/hermesh
COPY pyproject.toml README.md ./
COPY hermes hermes
COPY services services
COPY bridge bridge
COPY mosquitto mosquitto
RUN pip install --no-cache-dir . && pip install --no-cache-dir --no-deps "precise-runner>=0.3,<0.4"
ENV HERMESH_PROFILE=/profile
VOLUME ["/profile"]
ENTRYPOINT ["hermesh"]
