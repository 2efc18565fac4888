#!/bin/sh
# Render deploy/nginx/registry.conf for this site. Environment:
#   REGISTRY_NODES   app nodes, space-separated host:port (default "127.0.0.1:8001 127.0.0.1:8002")
#   LISTEN           what nginx listens on (default 80)
#   SERVER_NAME      the site's host name (default _)
#   STATIC_ROOT      the checkout's static folder (default: this checkout's static/)
# Usage: deploy/render-nginx.sh > /etc/nginx/sites-available/registry
set -eu
here=$(cd "$(dirname "$0")" && pwd)
nodes=${REGISTRY_NODES:-"127.0.0.1:8001 127.0.0.1:8002"}
upstreams=""
for node in $nodes; do
  upstreams="${upstreams}server ${node} max_fails=1 fail_timeout=10s; "
done
sed -e "s|@UPSTREAMS@|${upstreams}|" \
    -e "s|@LISTEN@|${LISTEN:-80}|" \
    -e "s|@SERVER_NAME@|${SERVER_NAME:-_}|" \
    -e "s|@STATIC_ROOT@|${STATIC_ROOT:-$(dirname "$here")/static}|" \
    "$here/nginx/registry.conf"
