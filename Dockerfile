# The platform's one image: every component is `auction run -target=X` of the
# same binary, and `auction init` creates the topics and tables first
# (docker-compose.yml runs one container per target).
#
#   docker build -t auctionflow/auction:dev .
#   docker run --rm -p 8080:8080 auctionflow/auction:dev      # embedded mode, every target
#
# The binary needs cgo: confluent-kafka-go links librdkafka, which it ships
# prebuilt and statically bundled for glibc on linux/amd64 and linux/arm64.
# Both stages are Debian 12 (bookworm, glibc 2.36), so nothing else is needed
# at run time but libc and the CA bundle, which distroless/base has.

# ---- build ------------------------------------------------------------------
FROM golang:1.26.8-bookworm AS build
WORKDIR /src

# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download && go mod verify

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags=-s -o /out/auction ./cmd/auction \
    && /out/auction env >/dev/null

# The processor's state folder (AUCTION_STATE_DIR), owned by the runtime
# user: distroless has no shell to make it, and a fresh named volume mounted
# on it inherits this ownership.
RUN mkdir -p /out/state

# ---- runtime ----------------------------------------------------------------
# glibc, CA certificates, tzdata, /tmp, and uid/gid 65532 (nonroot); no shell.
# For production pin it by digest as well: gcr.io/distroless/base-debian12:nonroot@sha256:...
FROM gcr.io/distroless/base-debian12:nonroot

COPY --from=build /out/auction /usr/local/bin/auction
COPY --from=build --chown=65532:65532 /out/state /var/lib/auction

USER 65532:65532
WORKDIR /var/lib/auction

# Every process serves /healthz and /readyz on AUCTION_ADMIN_ADDR; the image
# has no curl, so the binary asks (`auction healthcheck URL` exits 0 on 200).
# For the gateway, its own /readyz on :8080 says more (docker-compose.yml
# uses that one).
ENV AUCTION_ADMIN_ADDR=:8081
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=6 \
    CMD ["/usr/local/bin/auction", "healthcheck", "http://127.0.0.1:8081/readyz"]

# 8080: the gateway's HTTP API (AUCTION_HTTP_ADDR). 8081: liveness and
# readiness of every process (AUCTION_ADMIN_ADDR).
EXPOSE 8080 8081

ENTRYPOINT ["/usr/local/bin/auction"]
CMD ["run"]
