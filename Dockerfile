# Parley: one image with both services (writer, reader), static binaries on
# a distroless, non-root base. `docker compose up` builds it.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/writer ./cmd/reader

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/writer /out/reader /usr/local/bin/
USER nonroot:nonroot
# The service to run is the command: writer or reader.
ENTRYPOINT []
CMD ["/usr/local/bin/writer"]
