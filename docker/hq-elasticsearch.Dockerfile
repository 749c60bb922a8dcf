# Elasticsearch as CommCare HQ uses it (HQ's docker/files/Dockerfile.es.6): 6.8.23 with the phonetic analysis
# plugin. Dimagi publishes no image for it, so docker/commcare-hq.compose.yml builds this one.
FROM docker.elastic.co/elasticsearch/elasticsearch:6.8.23
RUN bin/elasticsearch-plugin install --batch analysis-phonetic
