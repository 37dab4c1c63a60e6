# syntax=docker/dockerfile:1
# A small runtime image of portolan: the binary alone on distroless (glibc, CA certificates, no
# shell), running as a non-root user. Build: `docker build -t portolan .`
# Use: `docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/work" portolan audit --format sarif \
#        --output portolan.sarif` (the user: reports written into the mount belong to you)
# (the working directory is /work: mount the repository there so paths in reports match it).

# the toolchain of Cargo.toml's rust-version (CI checks it against the lock file)
FROM rust:1.89-bookworm AS build
WORKDIR /src
# the whole tree (benches and tests are named by Cargo.toml, so cargo wants them present);
# .dockerignore leaves out target/ and .git. The registry is a cache mount: kept across builds,
# not in the image.
COPY . .
# the release profile keeps line tables for profiling; the image does not need them
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked --bin portolan \
    && strip target/release/portolan \
    && target/release/portolan --version

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/portolan /usr/local/bin/portolan
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/portolan"]
CMD ["--help"]
