# pg-advisor: the daemon (`pg-advisor run`) as a container, e.g. a sidecar next to
# PostgreSQL. The image only connects to PostgreSQL: no server packages in it.
#   docker build -t pg-advisor .
#   docker run -e DATABASE_URL=postgresql://advisor:...@db:5432/app -p 9188:9188 pg-advisor
FROM python:3.11-slim

LABEL org.opencontainers.image.title="pg-advisor" \
      org.opencontainers.image.description="A live index advisor for PostgreSQL: HypoPG-verified recommendations, index health and Prometheus metrics." \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    ADVISOR_LISTEN=0.0.0.0:9188 \
    ADVISOR_STATE_DIR=/var/lib/pg-advisor/state \
    ADVISOR_OUT=/var/lib/pg-advisor/reports

# The project as the README's set-up installs it: the package from source, its
# dependencies as pyproject.toml declares them.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY advisor ./advisor
RUN pip install --no-cache-dir . \
    && rm -rf /src \
    && groupadd --system --gid 10001 advisor \
    && useradd --system --uid 10001 --gid advisor --home-dir /var/lib/pg-advisor \
        --no-create-home --shell /usr/sbin/nologin advisor \
    && mkdir -p /var/lib/pg-advisor/state /var/lib/pg-advisor/reports \
    && chown -R advisor:advisor /var/lib/pg-advisor

WORKDIR /var/lib/pg-advisor
USER 10001:10001
# The SQLite state (recommendation history, deltas) and the reports: keep them across
# restarts, or the advisor starts its observation windows anew.
VOLUME ["/var/lib/pg-advisor"]
EXPOSE 9188

# Liveness: /health answers 200 while the process and its scheduler run. No curl in the
# slim image: Python's urllib, on the port of ADVISOR_LISTEN.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('ADVISOR_LISTEN', '0.0.0.0:9188').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4)"]

ENTRYPOINT ["pg-advisor"]
CMD ["run"]
