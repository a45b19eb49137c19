#include "runtime/storage/fault_vfs.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <random>
#include <vector>

namespace troupe::storage {
namespace {

struct pending_write {
  sqlite3_int64 offset = 0;
  std::vector<char> bytes;
  sqlite3_int64 end() const { return offset + static_cast<sqlite3_int64>(bytes.size()); }
};

/// What the "page cache" holds for one file path: writes not yet synced, oldest first.
struct file_data {
  std::string path;
  std::vector<pending_write> unsynced;
};

}  // namespace

struct fault_vfs::state {
  std::string name;
  sqlite3_vfs vfs{};
  sqlite3_vfs* real = nullptr;
  sqlite3_io_methods methods{};

  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<file_data>> files;
  std::mt19937_64 rng;
  bool crashed = false;
  bool tear = true;
  unsigned keep_percent = 0;
  std::uint64_t crash_countdown = 0;
  std::optional<write_fault> write_failure;
  std::uint64_t writes_before_failure = 0;
  bool sync_failure = false;
  bool read_only = false;
  bool real_fsync = false;
  counters stats;

  void crash_locked();
};

namespace {

/// SQLite allocates vfs.szOsFile bytes per open file; ours holds this header, then the real file.
struct fault_file {
  sqlite3_file base;  // first: SQLite sees a sqlite3_file*
  fault_vfs::state* vfs;
  std::shared_ptr<file_data> data;  // null for temporary files, which pass straight through
  sqlite3_file* real;
};

constexpr std::size_t real_offset = (sizeof(fault_file) + 15) / 16 * 16;

fault_file* self(sqlite3_file* file) {
  return reinterpret_cast<fault_file*>(file);
}
fault_vfs::state* vfs_state(sqlite3_vfs* vfs) {
  return static_cast<fault_vfs::state*>(vfs->pAppData);
}

sqlite3_int64 overlay_end(const file_data& data) {
  sqlite3_int64 end = 0;
  for (const auto& w : data.unsynced) end = std::max(end, w.end());
  return end;
}

int f_close(sqlite3_file* file) {
  fault_file* f = self(file);
  int rc = SQLITE_OK;
  if (f->real->pMethods != nullptr) rc = f->real->pMethods->xClose(f->real);
  {
    std::lock_guard<std::mutex> guard{f->vfs->mutex};
    f->data.reset();
  }
  f->~fault_file();
  return rc;
}

int f_read(sqlite3_file* file, void* buf, int amount, sqlite3_int64 offset) {
  fault_file* f = self(file);
  std::lock_guard<std::mutex> guard{f->vfs->mutex};
  if (f->vfs->crashed) return SQLITE_IOERR_READ;
  if (!f->data) return f->real->pMethods->xRead(f->real, buf, amount, offset);
  sqlite3_int64 real_size = 0;
  if (int rc = f->real->pMethods->xFileSize(f->real, &real_size); rc != SQLITE_OK) return rc;
  // The real read zero-fills what lies past the end of the real file.
  int rc = f->real->pMethods->xRead(f->real, buf, amount, offset);
  if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) return rc;
  auto* out = static_cast<char*>(buf);
  const sqlite3_int64 end = offset + amount;
  for (const auto& w : f->data->unsynced) {  // oldest first, so later writes win
    const sqlite3_int64 from = std::max(offset, w.offset);
    const sqlite3_int64 to = std::min(end, w.end());
    if (from >= to) continue;
    std::memcpy(out + (from - offset), w.bytes.data() + (from - w.offset),
                static_cast<std::size_t>(to - from));
  }
  const sqlite3_int64 size = std::max(real_size, overlay_end(*f->data));
  return end > size ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

int f_write(sqlite3_file* file, const void* buf, int amount, sqlite3_int64 offset) {
  fault_file* f = self(file);
  fault_vfs::state& s = *f->vfs;
  std::lock_guard<std::mutex> guard{s.mutex};
  if (s.crashed) return SQLITE_IOERR_WRITE;
  if (!f->data) return f->real->pMethods->xWrite(f->real, buf, amount, offset);
  ++s.stats.writes;
  if (s.write_failure) {
    if (s.writes_before_failure == 0) {
      return *s.write_failure == write_fault::disk_full ? SQLITE_FULL : SQLITE_IOERR_WRITE;
    }
    --s.writes_before_failure;
  }
  const bool crash_here = s.crash_countdown > 0 && --s.crash_countdown == 0;
  auto& unsynced = f->data->unsynced;
  const sqlite3_int64 end = offset + amount;
  // An older write wholly covered by this one can never be seen again: forget it.
  std::erase_if(unsynced, [&](const pending_write& w) {
    const bool covered = w.offset >= offset && w.end() <= end;
    if (covered) s.stats.unsynced_bytes -= w.bytes.size();
    return covered;
  });
  const auto* bytes = static_cast<const char*>(buf);
  unsynced.push_back(pending_write{offset, std::vector<char>(bytes, bytes + amount)});
  s.stats.unsynced_bytes += static_cast<std::uint64_t>(amount);
  if (crash_here) {
    s.crash_locked();
    return SQLITE_IOERR_WRITE;
  }
  return SQLITE_OK;
}

int f_truncate(sqlite3_file* file, sqlite3_int64 size) {
  fault_file* f = self(file);
  fault_vfs::state& s = *f->vfs;
  std::lock_guard<std::mutex> guard{s.mutex};
  if (s.crashed) return SQLITE_IOERR_TRUNCATE;
  if (f->data) {
    // Truncation is durable at once (see the header); unsynced bytes past the new end vanish.
    auto& unsynced = f->data->unsynced;
    std::erase_if(unsynced, [&](const pending_write& w) {
      if (w.offset < size) return false;
      s.stats.unsynced_bytes -= w.bytes.size();
      return true;
    });
    for (auto& w : unsynced) {
      if (w.end() > size) {
        s.stats.unsynced_bytes -= static_cast<std::uint64_t>(w.end() - size);
        w.bytes.resize(static_cast<std::size_t>(size - w.offset));
      }
    }
  }
  return f->real->pMethods->xTruncate(f->real, size);
}

int f_sync(sqlite3_file* file, int flags) {
  fault_file* f = self(file);
  fault_vfs::state& s = *f->vfs;
  std::lock_guard<std::mutex> guard{s.mutex};
  if (s.crashed) return SQLITE_IOERR_FSYNC;
  if (!f->data) return f->real->pMethods->xSync(f->real, flags);
  ++s.stats.syncs;
  if (s.sync_failure) return SQLITE_IOERR_FSYNC;
  if (s.crash_countdown > 0 && --s.crash_countdown == 0) {
    s.crash_locked();
    return SQLITE_IOERR_FSYNC;
  }
  auto& unsynced = f->data->unsynced;
  while (!unsynced.empty()) {
    pending_write& w = unsynced.front();
    const int rc = f->real->pMethods->xWrite(f->real, w.bytes.data(),
                                             static_cast<int>(w.bytes.size()), w.offset);
    if (rc != SQLITE_OK) return rc;
    s.stats.unsynced_bytes -= w.bytes.size();
    unsynced.erase(unsynced.begin());
  }
  return s.real_fsync ? f->real->pMethods->xSync(f->real, flags) : SQLITE_OK;
}

int f_file_size(sqlite3_file* file, sqlite3_int64* size) {
  fault_file* f = self(file);
  std::lock_guard<std::mutex> guard{f->vfs->mutex};
  if (f->vfs->crashed) return SQLITE_IOERR_FSTAT;
  const int rc = f->real->pMethods->xFileSize(f->real, size);
  if (rc == SQLITE_OK && f->data) *size = std::max(*size, overlay_end(*f->data));
  return rc;
}

// Locks, file controls and shared memory pass through: they carry no data that must be durable.
int f_lock(sqlite3_file* file, int level) {
  return self(file)->real->pMethods->xLock(self(file)->real, level);
}
int f_unlock(sqlite3_file* file, int level) {
  return self(file)->real->pMethods->xUnlock(self(file)->real, level);
}
int f_check_reserved(sqlite3_file* file, int* out) {
  return self(file)->real->pMethods->xCheckReservedLock(self(file)->real, out);
}
int f_file_control(sqlite3_file* file, int op, void* arg) {
  return self(file)->real->pMethods->xFileControl(self(file)->real, op, arg);
}
int f_sector_size(sqlite3_file* file) {
  return self(file)->real->pMethods->xSectorSize(self(file)->real);
}
int f_device_characteristics(sqlite3_file* file) {
  return self(file)->real->pMethods->xDeviceCharacteristics(self(file)->real);
}
int f_shm_map(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  return self(file)->real->pMethods->xShmMap(self(file)->real, page, page_size, extend, out);
}
int f_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return self(file)->real->pMethods->xShmLock(self(file)->real, offset, n, flags);
}
void f_shm_barrier(sqlite3_file* file) {
  self(file)->real->pMethods->xShmBarrier(self(file)->real);
}
int f_shm_unmap(sqlite3_file* file, int delete_flag) {
  return self(file)->real->pMethods->xShmUnmap(self(file)->real, delete_flag);
}
// Memory-mapped pages would show the real file without the unsynced writes: never hand one out.
int f_fetch(sqlite3_file*, sqlite3_int64, int, void** out) {
  *out = nullptr;
  return SQLITE_OK;
}
int f_unfetch(sqlite3_file*, sqlite3_int64, void*) {
  return SQLITE_OK;
}

bool is_durable_kind(int flags) {
  return (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL |
                   SQLITE_OPEN_SUPER_JOURNAL)) != 0 &&
         (flags & SQLITE_OPEN_DELETEONCLOSE) == 0;
}

int v_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  fault_vfs::state& s = *vfs_state(vfs);
  auto* f = new (file) fault_file{};
  f->vfs = &s;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + real_offset);
  f->real->pMethods = nullptr;
  int real_flags = flags;
  {
    std::lock_guard<std::mutex> guard{s.mutex};
    if (s.crashed) {
      f->~fault_file();
      file->pMethods = nullptr;
      return SQLITE_CANTOPEN;
    }
    if (s.read_only && (flags & SQLITE_OPEN_READWRITE) != 0) {
      // What the unix VFS does itself when open(O_RDWR) fails with EROFS or EACCES.
      real_flags = (flags & ~(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_READONLY;
    }
  }
  const int rc = s.real->xOpen(s.real, name, f->real, real_flags, out_flags);
  if (rc != SQLITE_OK) {
    f->~fault_file();
    file->pMethods = nullptr;
    return rc;
  }
  if (name != nullptr && is_durable_kind(flags)) {
    std::lock_guard<std::mutex> guard{s.mutex};
    auto& data = s.files[name];
    if (!data) {
      data = std::make_shared<file_data>();
      data->path = name;
    }
    f->data = data;
  }
  file->pMethods = &s.methods;
  return SQLITE_OK;
}

int v_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  fault_vfs::state& s = *vfs_state(vfs);
  {
    std::lock_guard<std::mutex> guard{s.mutex};
    if (s.crashed) return SQLITE_IOERR_DELETE;
    if (auto it = s.files.find(name); it != s.files.end()) {
      for (const auto& w : it->second->unsynced) s.stats.unsynced_bytes -= w.bytes.size();
      it->second->unsynced.clear();
      s.files.erase(it);  // handles still open keep their (now anonymous) data
    }
  }
  return s.real->xDelete(s.real, name, sync_dir);
}

int v_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return vfs_state(vfs)->real->xAccess(vfs_state(vfs)->real, name, flags, out);
}
int v_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return vfs_state(vfs)->real->xFullPathname(vfs_state(vfs)->real, name, n, out);
}
void* v_dl_open(sqlite3_vfs* vfs, const char* name) {
  return vfs_state(vfs)->real->xDlOpen(vfs_state(vfs)->real, name);
}
void v_dl_error(sqlite3_vfs* vfs, int n, char* out) {
  vfs_state(vfs)->real->xDlError(vfs_state(vfs)->real, n, out);
}
void (*v_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return vfs_state(vfs)->real->xDlSym(vfs_state(vfs)->real, handle, symbol);
}
void v_dl_close(sqlite3_vfs* vfs, void* handle) {
  vfs_state(vfs)->real->xDlClose(vfs_state(vfs)->real, handle);
}
int v_randomness(sqlite3_vfs* vfs, int n, char* out) {
  return vfs_state(vfs)->real->xRandomness(vfs_state(vfs)->real, n, out);
}
int v_sleep(sqlite3_vfs* vfs, int micros) {
  return vfs_state(vfs)->real->xSleep(vfs_state(vfs)->real, micros);
}
int v_current_time(sqlite3_vfs* vfs, double* out) {
  return vfs_state(vfs)->real->xCurrentTime(vfs_state(vfs)->real, out);
}
int v_get_last_error(sqlite3_vfs* vfs, int n, char* out) {
  return vfs_state(vfs)->real->xGetLastError(vfs_state(vfs)->real, n, out);
}
int v_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return vfs_state(vfs)->real->xCurrentTimeInt64(vfs_state(vfs)->real, out);
}

}  // namespace

void fault_vfs::state::crash_locked() {
  crashed = true;
  crash_countdown = 0;
  for (auto& [path, data] : files) {
    auto& unsynced = data->unsynced;
    if (unsynced.empty()) continue;
    stats.dropped_writes += unsynced.size();
    const auto persist = [&path](const pending_write& w, std::size_t bytes) {
      const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        (void)!::pwrite(fd, w.bytes.data(), bytes, w.offset);
        ::close(fd);
      }
    };
    // Written back before the crash, in file order: a later kept write wins where they overlap.
    for (std::size_t i = 0; i + 1 < unsynced.size() && keep_percent > 0; ++i) {
      if (rng() % 100 < keep_percent) {
        persist(unsynced[i], unsynced[i].bytes.size());
        --stats.dropped_writes;
      }
    }
    if (tear) {
      // The write in flight when the power went: some prefix of it reached the platter.
      const pending_write& last = unsynced.back();
      const std::size_t keep = static_cast<std::size_t>(rng() % (last.bytes.size() + 1));
      if (keep < last.bytes.size()) ++stats.torn_writes;
      if (keep > 0) {
        --stats.dropped_writes;
        persist(last, keep);
      }
    }
    for (const auto& w : unsynced) stats.unsynced_bytes -= w.bytes.size();
    unsynced.clear();
  }
}

result<std::unique_ptr<fault_vfs>> fault_vfs::install(const std::string& name, std::uint64_t seed) {
  if (sqlite3_initialize() != SQLITE_OK) {
    return make_error(errc::internal, "fault_vfs: sqlite3_initialize failed");
  }
  if (sqlite3_vfs_find(name.c_str()) != nullptr) {
    return make_error(errc::invalid_argument, "fault_vfs: a VFS named " + name + " exists");
  }
  auto s = std::make_unique<state>();
  s->name = name;
  s->rng.seed(seed);
  s->real = sqlite3_vfs_find(nullptr);
  if (s->real == nullptr) return make_error(errc::internal, "fault_vfs: no default VFS");

  sqlite3_io_methods& m = s->methods;
  m.iVersion = 3;
  m.xClose = f_close;
  m.xRead = f_read;
  m.xWrite = f_write;
  m.xTruncate = f_truncate;
  m.xSync = f_sync;
  m.xFileSize = f_file_size;
  m.xLock = f_lock;
  m.xUnlock = f_unlock;
  m.xCheckReservedLock = f_check_reserved;
  m.xFileControl = f_file_control;
  m.xSectorSize = f_sector_size;
  m.xDeviceCharacteristics = f_device_characteristics;
  m.xShmMap = f_shm_map;
  m.xShmLock = f_shm_lock;
  m.xShmBarrier = f_shm_barrier;
  m.xShmUnmap = f_shm_unmap;
  m.xFetch = f_fetch;
  m.xUnfetch = f_unfetch;

  sqlite3_vfs& v = s->vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(real_offset) + s->real->szOsFile;
  v.mxPathname = s->real->mxPathname;
  v.zName = s->name.c_str();
  v.pAppData = s.get();
  v.xOpen = v_open;
  v.xDelete = v_delete;
  v.xAccess = v_access;
  v.xFullPathname = v_full_pathname;
  v.xDlOpen = v_dl_open;
  v.xDlError = v_dl_error;
  v.xDlSym = v_dl_sym;
  v.xDlClose = v_dl_close;
  v.xRandomness = v_randomness;
  v.xSleep = v_sleep;
  v.xCurrentTime = v_current_time;
  v.xGetLastError = v_get_last_error;
  v.xCurrentTimeInt64 = v_current_time_int64;
  if (sqlite3_vfs_register(&v, 0) != SQLITE_OK) {
    return make_error(errc::internal, "fault_vfs: cannot register VFS " + name);
  }
  return std::unique_ptr<fault_vfs>{new fault_vfs(std::move(s))};
}

fault_vfs::fault_vfs(std::unique_ptr<state> s) noexcept : state_(std::move(s)) {}

fault_vfs::~fault_vfs() {
  sqlite3_vfs_unregister(&state_->vfs);
}

const std::string& fault_vfs::name() const noexcept {
  return state_->name;
}

void fault_vfs::crash() {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->crash_locked();
}

void fault_vfs::crash_after(std::uint64_t operations) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->crash_countdown = operations;
}

void fault_vfs::set_tear_on_crash(bool tear) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->tear = tear;
}

void fault_vfs::set_crash_keep_percent(unsigned percent) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->keep_percent = percent > 100 ? 100 : percent;
}

bool fault_vfs::crashed() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->crashed;
}

void fault_vfs::restart() {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->crashed = false;
  state_->crash_countdown = 0;
}

void fault_vfs::fail_writes(write_fault fault, std::uint64_t after) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->write_failure = fault;
  state_->writes_before_failure = after;
}

void fault_vfs::fail_syncs() {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->sync_failure = true;
}

void fault_vfs::set_read_only(bool read_only) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->read_only = read_only;
}

void fault_vfs::clear_faults() {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->write_failure.reset();
  state_->writes_before_failure = 0;
  state_->sync_failure = false;
  state_->read_only = false;
}

void fault_vfs::set_real_fsync(bool enabled) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->real_fsync = enabled;
}

fault_vfs::counters fault_vfs::stats() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->stats;
}

}  // namespace troupe::storage
