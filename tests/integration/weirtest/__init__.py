"""Helpers for Weir's black-box integration tests: the server under test,
ffmpeg/ffprobe peers, FLV/AMF0 parsing, and raw-socket HTTP, WebSocket and
RTMP clients."""
