# The image the container recipe of docs/operations.md runs ("Running deskmetrics for
# months"): `docker build -t deskmetrics .` in the repository, then
# `docker run … deskmetrics run --config /data/settings.toml`.
#
# Checked with: not built yet. It was written where the Docker client (28.2.2) had no
# daemon to build with; what it runs is what `pip install '.[postgres]'` and the
# `deskmetrics` entry point do on Python 3.11, which the tests run. Build it once before
# relying on it, and note here what it was built with.
FROM python:3.11-slim

WORKDIR /opt/deskmetrics
COPY pyproject.toml README.md ./
COPY interactions ./interactions
COPY connectors ./connectors
COPY scoring ./scoring
COPY warehouse ./warehouse
COPY deskmetrics ./deskmetrics
COPY sandbox ./sandbox
RUN pip install --no-cache-dir '.[postgres]' \
    && useradd --system --home-dir /data deskmetrics \
    && mkdir -p /data && chown deskmetrics /data

USER deskmetrics
WORKDIR /data
# `docker stop` sends SIGTERM: each run stores the page in hand and `run` exits 0; give
# it time with `--stop-timeout 300`.
STOPSIGNAL SIGTERM
ENTRYPOINT ["deskmetrics"]
CMD ["--help"]
