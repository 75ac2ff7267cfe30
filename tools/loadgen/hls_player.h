// HlsPlayer: an HLS viewer (MPEG-TS segments) or an LL-HLS viewer (fMP4
// parts with blocking playlist reload), on one client::HttpClient: one
// request at a time on a keep-alive connection (the client reopens it when
// the server closes it; `reconnects` counts the connections after the
// first). A request that fails is sent once more before the player fails.
//
// HLS: starts three segments behind the live edge, fetches new segments in
// order, polls the media playlist every target-duration / 2, and scans each
// segment with TsScanner (PES headers, keyframes, probe SEI).
// LL-HLS: fetches the EXT-X-MAP init segment, starts at an independent part
// about three parts behind the edge, then for each next part issues a
// blocking reload (_HLS_msn / _HLS_part) and fetches the part; parts are
// parsed with Weir's mp4 reader (moof/tfdt/trun), which gives each sample's
// decode time, sync flag and data (for the probe SEI).
//
// Stalls follow a player-buffer model: playback starts once the initial
// segments (parts) are in, the buffer is media received minus media played,
// and each time it runs empty counts one stall (playback resumes with the
// next segment or part).
//
// Threads/ownership: see player.h.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "core/timer.h"
#include "loadgen/parsers.h"
#include "loadgen/player.h"
#include "loadgen/url.h"
#include "protocol/mp4_reader.h"

namespace weir::loadgen {

class HlsPlayer final : public Player, private client::HttpClient::Handler {
 public:
  HlsPlayer(Runner& runner, PlayerStats& stats, bool low_latency);
  ~HlsPlayer() override;

  void shutdown() override;
  void tick(int64_t now_us) override;
  void finish(int64_t end_us) override;

 protected:
  void open() override;
  void close() override { http_.reset(); }

 private:
  enum class Fetch { kNone, kPlaylist, kInit, kSegment, kPart };
  struct Item {
    int64_t msn = 0;
    int part = -1;  // -1: a whole segment
    double duration = 0;
    std::string target;
    bool closes_segment = false;  // LL-HLS: the last part of a completed segment
  };

  // HttpClient::Handler
  void on_bytes(size_t n) override { on_bytes_read(n); }
  void on_head(const HttpResponseHead& head) override;
  void on_body(core::ByteView bytes) override;
  void on_complete(const core::Status& st) override;

  void request(Fetch what, std::string target);
  void send_request();
  void after_response();
  void next_step();
  void schedule(uint64_t ms);
  void reload_playlist(bool blocking);

  void on_playlist(const HlsPlaylist& pl);
  void on_hls_playlist(const HlsPlaylist& pl);
  void on_llhls_playlist(const HlsPlaylist& pl);
  void on_init(core::ByteView bytes);
  void on_part(core::ByteView bytes);
  void on_ts_frame(const TsFrame& f);
  void media_added(double seconds, int64_t now_us);

  bool low_latency_;
  Url base_;                  // the playlist URL (variant once chosen)
  std::string playlist_target_;
  std::unique_ptr<client::HttpClient> http_;
  std::unique_ptr<core::Timer> timer_;

  // Current request.
  Fetch fetch_ = Fetch::kNone;
  std::string fetch_target_;
  Item fetch_item_;
  int status_ = 0;
  bool body_too_big_ = false;
  std::string body_;          // playlist, init, part (segments are streamed)
  bool retried_ = false;      // the current request was already resent once
  std::string last_error_;    // why the player has not started yet (reported if it never does)

  // Playback position.
  bool have_playlist_ = false;
  double target_duration_ = 2;
  double part_target_ = 0.2;
  std::deque<Item> queue_;
  int64_t next_msn_ = -1;     // HLS: next segment to fetch
  int64_t last_msn_ = -1;     // LL-HLS: last part fetched
  int last_part_ = -1;
  bool poll_due_ = false;
  TsScanner ts_;

  // LL-HLS init segment (the Mp4Init borrows from init_bytes_).
  std::vector<uint8_t> init_bytes_;
  std::unique_ptr<protocol::Mp4Init> init_;
  uint32_t video_track_ = 0;
  uint32_t video_timescale_ = 90000;
  uint8_t init_nal_length_size_ = 4;

  // Buffer model (ms of media).
  size_t initial_items_ = 0;  // items to receive before playback starts
  double media_ms_ = 0;
  double played_base_ms_ = 0;
  int64_t resume_us_ = -1;
  bool playing_ = false;
  bool ever_played_ = false;
  int64_t last_add_us_ = -1;
  int64_t ratio_ref_us_ = -1;
  double ratio_ref_ms_ = 0;
};

}  // namespace weir::loadgen
