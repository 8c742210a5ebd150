import Foundation
import KlingKitTestSupport
import KlingSupport
import Testing

@Suite("AtomicOutputFile")
struct AtomicOutputFileTests {
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    @Test("a regular file is replaced whole, and no temporary file is left")
    func regularFile() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.bin"
        try AtomicOutputFile.write(Array("old".utf8), to: path)
        try AtomicOutputFile.write(Array("new content".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new content")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["out.bin"])
    }

    @Test("a character device is written into, never replaced by a regular file (/dev/null stays a device)")
    func deviceStaysDevice() throws {
        try AtomicOutputFile.write(Array("discarded".utf8), to: "/dev/null")
        var info = stat()
        #expect(stat("/dev/null", &info) == 0)
        #expect((info.st_mode & S_IFMT) == S_IFCHR, "/dev/null must still be a character device")
    }

    @Test("a FIFO is written into in place: a reader gets the bytes and the FIFO is still a FIFO")
    func fifo() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/pipe"
        #expect(mkfifo(path, 0o600) == 0)
        // A reader that reads until the writer closes (opening a FIFO blocks until both ends are open).
        // It blocks, so it runs on a Dispatch thread: a blocked task on the 2-thread cooperative pool
        // could wait for a thread the writer below holds.
        let received = LockedData()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            defer { done.signal() }
            let fd = open(path, O_RDONLY)
            guard fd >= 0 else { return }
            defer { close(fd) }
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = read(fd, &chunk, chunk.count)
                if n <= 0 { break }
                received.append(Data(chunk[0..<n]))
            }
        }
        try AtomicOutputFile.write(Array("through the pipe".utf8), to: path)
        #expect(done.wait(timeout: .now() + 30) == .success)
        let got = [UInt8](received.get())
        #expect(String(decoding: got, as: UTF8.self) == "through the pipe")
        var info = stat()
        #expect(lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
    }

    @Test("a symbolic link is followed: its target gets the bytes and the link stays a link; a loop is refused")
    func symlinks() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/real", withIntermediateDirectories: true)
        #expect(symlink("real/target.txt", dir + "/link.txt") == 0)
        try AtomicOutputFile.write(Array("via link".utf8), to: dir + "/link.txt")
        #expect(try String(contentsOfFile: dir + "/real/target.txt", encoding: .utf8) == "via link")
        var info = stat()
        #expect(lstat(dir + "/link.txt", &info) == 0 && (info.st_mode & S_IFMT) == S_IFLNK)

        #expect(symlink("b", dir + "/a") == 0 && symlink("a", dir + "/b") == 0)
        #expect(throws: FileWriteError.self) { try AtomicOutputFile.write([1], to: dir + "/a") }
        do { try AtomicOutputFile.write([1], to: dir + "/a") } catch { #expect(error.code == .symlinkLoop) }
    }

    @Test("files written together appear together, or none of them does (a full disk, a missing folder)")
    func together() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try AtomicOutputFile.writeTogether([(Array("image".utf8), dir + "/a.jpg"), (Array("aW1hZ2U=".utf8), dir + "/a.jpg.b64")])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a.jpg", "a.jpg.b64"])
        #expect(try String(contentsOfFile: dir + "/a.jpg.b64", encoding: .utf8) == "aW1hZ2U=")
        // The second write fails (/dev/full: ENOSPC, as on a full disk): the first never appears.
        #expect(throws: FileWriteError.self) {
            try AtomicOutputFile.writeTogether([(Array("new image".utf8), dir + "/b.jpg"), (Array("bytes".utf8), "/dev/full")])
        }
        // The second cannot even be created: the first is gone too, and an older first file is untouched.
        #expect(throws: FileWriteError.self) {
            try AtomicOutputFile.writeTogether([(Array("replaced?".utf8), dir + "/a.jpg"), (Array("x".utf8), dir + "/missing/a.jpg.b64")])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a.jpg", "a.jpg.b64"])
        #expect(try String(contentsOfFile: dir + "/a.jpg", encoding: .utf8) == "image")
    }

    @Test("a 255-byte file name can be written (the temporary name is shortened to fit)")
    func longName() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let name = String(repeating: "é", count: 125) + "x.jpg"   // 250 + 5 = 255 bytes
        #expect(name.utf8.count == 255)
        try AtomicOutputFile.write(Array("long".utf8), to: dir + "/" + name)
        #expect(FileManager.default.fileExists(atPath: dir + "/" + name))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == 1)
    }

    @Test("stale temporaries of dead processes are swept; a live process's temporary is kept")
    func sweep() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A process id that cannot be running: above Linux's pid_max limit (4,194,304).
        let dead = dir + "/.sheet.png.tmp-4194999-12345"
        let live = dir + "/.out.jpg.tmp-\(getpid())-777"
        let other = dir + "/.hidden"
        for path in [dead, live, other] { FileManager.default.createFile(atPath: path, contents: Data([1])) }
        let removed = AtomicOutputFile.sweepStaleTemporaries(in: dir)
        #expect(removed == [dead])
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(FileManager.default.fileExists(atPath: live) && FileManager.default.fileExists(atPath: other))
    }
}

