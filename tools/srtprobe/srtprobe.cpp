// srtprobe: connects to an SRT listener as a live-mode caller and reports
// what happened as one JSON line on stdout:
//   {"connected":false,"reject_code":1404,"reject":"...","sent":0,"received":0,...}
// reject_code is srt_getrejectreason(): below 1000 libsrt's own reasons
// (e.g. 10 SRT_REJ_BADSECRET, 11 SRT_REJ_UNSECURE), 1000 + HTTP status for
// the listener's access-control codes (1404 not found, 1409 conflict...).
//
// usage: srtprobe HOST:PORT [--streamid ID] [--passphrase P] [--pbkeylen N]
//                 [--latency MS] [--payload N] [--connect-timeout MS]
//                 [--send FILE [--rate BYTES_PER_S] [--loop]] [--recv SECONDS [--out FILE]]
//                 [--hold SECONDS] [--stall SECONDS]
// --send: sends FILE in --payload byte messages (default 1316), paced at
//         --rate (0 = as fast as the send buffer takes them), --loop repeats.
// --recv: receives for SECONDS (or until the peer closes); --out keeps the bytes.
// --hold: stays connected this long after sending (default 0.5 s).
// --stall: stays connected this long without reading (a stuck player), first.
// Exit code: 0 connected, 3 refused, 1 other failure, 2 bad arguments.
#include <srt/srt.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;

int usage() {
  std::fprintf(stderr,
               "usage: srtprobe HOST:PORT [--streamid ID] [--passphrase P] [--pbkeylen N] [--latency MS]\n"
               "                [--payload N] [--connect-timeout MS] [--send FILE [--rate B/S] [--loop]]\n"
               "                [--recv SECONDS [--out FILE]] [--hold SECONDS] [--stall SECONDS]\n");
  return 2;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string target = argv[1], streamid, passphrase, send_file, out_file;
  int pbkeylen = 0, latency = -1, payload = 1316, connect_timeout = 3000;
  double rate = 0, recv_s = 0, hold_s = 0.5, stall_s = 0;
  bool loop = false;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--loop") { loop = true; continue; }
    if (!(v = next())) return usage();
    if (a == "--streamid") streamid = v;
    else if (a == "--passphrase") passphrase = v;
    else if (a == "--pbkeylen") pbkeylen = std::atoi(v);
    else if (a == "--latency") latency = std::atoi(v);
    else if (a == "--payload") payload = std::atoi(v);
    else if (a == "--connect-timeout") connect_timeout = std::atoi(v);
    else if (a == "--send") send_file = v;
    else if (a == "--rate") rate = std::atof(v);
    else if (a == "--recv") recv_s = std::atof(v);
    else if (a == "--out") out_file = v;
    else if (a == "--hold") hold_s = std::atof(v);
    else if (a == "--stall") stall_s = std::atof(v);
    else return usage();
  }
  size_t colon = target.rfind(':');
  if (colon == std::string::npos) return usage();
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(uint16_t(std::atoi(target.c_str() + colon + 1)));
  if (inet_pton(AF_INET, target.substr(0, colon).c_str(), &sa.sin_addr) != 1) return usage();

  std::vector<char> data;
  if (!send_file.empty()) {
    std::ifstream f(send_file, std::ios::binary);
    if (!f) {
      std::fprintf(stderr, "srtprobe: cannot read %s\n", send_file.c_str());
      return 2;
    }
    data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }

  srt_startup();
  srt_setloglevel(3);  // errors only: the JSON line is the report
  SRTSOCKET s = srt_create_socket();
  auto set = [&](SRT_SOCKOPT o, const void* v, int len) { srt_setsockflag(s, o, v, len); };
  if (!streamid.empty()) set(SRTO_STREAMID, streamid.data(), int(streamid.size()));
  if (!passphrase.empty()) set(SRTO_PASSPHRASE, passphrase.data(), int(passphrase.size()));
  if (pbkeylen) set(SRTO_PBKEYLEN, &pbkeylen, sizeof pbkeylen);
  if (latency >= 0) set(SRTO_LATENCY, &latency, sizeof latency);
  set(SRTO_PAYLOADSIZE, &payload, sizeof payload);
  set(SRTO_CONNTIMEO, &connect_timeout, sizeof connect_timeout);

  nlohmann::json out;
  auto t0 = Clock::now();
  int rc = srt_connect(s, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  out["connect_s"] = seconds_since(t0);
  if (rc == SRT_ERROR) {
    int reason = srt_getrejectreason(s);
    out["connected"] = false;
    out["reject_code"] = reason;
    out["reject"] = srt_rejectreason_str(reason);
    out["error"] = srt_getlasterror_str();
    std::printf("%s\n", out.dump().c_str());
    srt_close(s);
    srt_cleanup();
    return 3;
  }
  out["connected"] = true;
  int negotiated = 0, len = sizeof negotiated;
  srt_getsockflag(s, SRTO_PEERLATENCY, &negotiated, &len);
  out["peer_latency_ms"] = negotiated;
  len = sizeof negotiated;
  srt_getsockflag(s, SRTO_RCVLATENCY, &negotiated, &len);
  out["rcv_latency_ms"] = negotiated;

  if (stall_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(stall_s));
  uint64_t sent = 0, received = 0, messages = 0;
  int max_message = 0, min_message = 0;
  bool not_whole_ts = false;
  std::string end = "done";
  if (!data.empty()) {
    auto start = Clock::now();
    do {
      for (size_t off = 0; off < data.size(); off += size_t(payload)) {
        int n = int(std::min(data.size() - off, size_t(payload)));
        if (rate > 0) {
          auto due = start + std::chrono::duration<double>(double(sent) / rate);
          std::this_thread::sleep_until(std::chrono::time_point_cast<Clock::duration>(due));
        }
        if (srt_sendmsg(s, data.data() + off, n, -1, 0) == SRT_ERROR) {
          end = std::string("send: ") + srt_getlasterror_str();
          loop = false;
          break;
        }
        sent += uint64_t(n);
      }
    } while (loop);
    std::this_thread::sleep_for(std::chrono::duration<double>(hold_s));
  }
  if (recv_s > 0) {
    std::ofstream f;
    if (!out_file.empty()) f.open(out_file, std::ios::binary);
    int timeout_ms = 200;
    srt_setsockflag(s, SRTO_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
    auto start = Clock::now();
    char buf[2048];
    while (seconds_since(start) < recv_s) {
      int n = srt_recvmsg(s, buf, sizeof buf);
      if (n == SRT_ERROR) {
        if (srt_getlasterror(nullptr) == SRT_ETIMEOUT) continue;
        end = std::string("recv: ") + srt_getlasterror_str();
        break;
      }
      if (n <= 0) continue;
      received += uint64_t(n);
      ++messages;
      max_message = std::max(max_message, n);
      min_message = min_message ? std::min(min_message, n) : n;
      if (n % 188 != 0 || uint8_t(buf[0]) != 0x47) not_whole_ts = true;
      if (f) f.write(buf, n);
    }
  }
  out["sent"] = sent;
  out["received"] = received;
  out["messages"] = messages;
  out["max_message"] = max_message;
  out["min_message"] = min_message;
  out["whole_ts_messages"] = !not_whole_ts;
  out["end"] = end;
  out["state"] = int(srt_getsockstate(s));
  std::printf("%s\n", out.dump().c_str());
  std::fflush(stdout);
  srt_close(s);
  srt_cleanup();
  return 0;
}
