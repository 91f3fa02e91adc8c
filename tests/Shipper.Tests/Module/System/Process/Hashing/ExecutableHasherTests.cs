using global::System.Diagnostics;
using Shipper.Module.System.Process.Hashing;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Hashing;

public sealed class ExecutableHasherTests : IDisposable
{
    private const long MiB = 1 << 20;
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    private readonly HashFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    private static HashSettings Settings(
        HashType[]? types = null, long maxFileSize = 100 * MiB, long scanRate = 0, int cacheSize = 16, bool otherNamespaces = false, TimeSpan? maxWait = null) =>
        new(types ?? [HashType.Sha1, HashType.Sha256], maxFileSize, scanRate, cacheSize, otherNamespaces, maxWait ?? TimeSpan.FromMinutes(5));

    private static ulong Own => MountNamespace.OfSelf();

    [Fact]
    public async Task ARealExecOfACopiedBinaryGetsTheDigestsSha1sumAndSha256sumGive()
    {
        var binary = _fixture.CopyOf("/usr/bin/sleep", "copied-sleep");
        var process = _fixture.Start(binary, "30");
        var pid = process.Id;
        // What the tracker reads from /proc for this process.
        var executable = new FileInfo($"/proc/{pid}/exe").LinkTarget;
        var mountNamespace = MountNamespace.OfProcess(pid);
        Assert.Equal(binary, executable);
        Assert.Equal(Own, mountNamespace);

        var hasher = _fixture.Hasher(Settings());
        var outcome = await hasher.GetAsync(executable, pid, mountNamespace).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Hashed, outcome.Status);
        Assert.Equal([HashType.Sha1, HashType.Sha256], outcome.Digests.Select(d => d.Type));
        Assert.Equal(ExternalTool.Digest("sha1sum", binary), outcome[HashType.Sha1]);
        Assert.Equal(ExternalTool.Digest("sha256sum", binary), outcome[HashType.Sha256]);
        Assert.Equal(new FileInfo(binary).Length, _fixture.Counter("process.hash.bytes"));
        Assert.Equal(1, _fixture.Counter("process.hash.misses"));
    }

    [Fact]
    public async Task AHitOnAnUnchangedFileReadsNothing()
    {
        var binary = _fixture.CopyOf("/usr/bin/true", "copied-true");
        var process = _fixture.Start(binary);
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        var hasher = _fixture.Hasher(Settings());

        var first = await hasher.GetAsync(binary, process.Id, Own).AsTask().WaitAsync(Guard);
        var bytes = _fixture.Counter("process.hash.bytes");
        var second = hasher.GetAsync(binary, process.Id + 1, Own);

        Assert.True(second.IsCompletedSuccessfully, "a hit answers synchronously");
        Assert.Same(first, await second);
        Assert.Equal(bytes, _fixture.Counter("process.hash.bytes"));
        Assert.Equal(1, _fixture.Counter("process.hash.hits"));
        Assert.Equal(1, _fixture.Counter("process.hash.misses"));
        Assert.Equal(ExternalTool.Digest("sha1sum", binary), first[HashType.Sha1]);
    }

    [Fact]
    public async Task AFileReplacedUnderTheSamePathGetsTheNewDigest()
    {
        var binary = _fixture.CopyOf("/usr/bin/true", "tool");
        var hasher = _fixture.Hasher(Settings());
        var before = await hasher.GetAsync(binary, 0, Own).AsTask().WaitAsync(Guard);
        var inodeBefore = Inode(binary);

        // A package upgrade: a new file renamed over the old one (new inode).
        var replacement = _fixture.CopyOf("/usr/bin/false", "tool.new");
        File.Move(replacement, binary, overwrite: true);
        Assert.NotEqual(inodeBefore, Inode(binary));
        var process = _fixture.Start(binary);
        await process.WaitForExitAsync();
        Assert.Equal(1, process.ExitCode);

        var after = await hasher.GetAsync(binary, process.Id, Own).AsTask().WaitAsync(Guard);

        Assert.NotEqual(before[HashType.Sha256], after[HashType.Sha256]);
        Assert.Equal(ExternalTool.Digest("sha256sum", binary), after[HashType.Sha256]);
        Assert.Equal(1, _fixture.Counter("process.hash.invalidations"));
    }

    [Fact]
    public async Task AFileRewrittenInPlaceGetsTheNewDigest()
    {
        var binary = _fixture.CopyOf("/usr/bin/true", "tool");
        var hasher = _fixture.Hasher(Settings());
        var before = await hasher.GetAsync(binary, 0, Own).AsTask().WaitAsync(Guard);
        var inode = Inode(binary);

        // Same inode, new size and mtime: an ELF file still runs with bytes appended.
        using (var stream = new FileStream(binary, FileMode.Append, FileAccess.Write))
        {
            stream.Write("appended"u8);
        }

        Assert.Equal(inode, Inode(binary));
        var process = _fixture.Start(binary);
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);

        var after = await hasher.GetAsync(binary, process.Id, Own).AsTask().WaitAsync(Guard);

        Assert.NotEqual(before[HashType.Sha1], after[HashType.Sha1]);
        Assert.Equal(ExternalTool.Digest("sha1sum", binary), after[HashType.Sha1]);
        Assert.Equal(1, _fixture.Counter("process.hash.invalidations"));
    }

    [Fact]
    public async Task ASameSizeRewriteIsCaughtByTheTimestamps()
    {
        var path = _fixture.Write("data", 4096, seed: 1);
        var hasher = _fixture.Hasher(Settings());
        var before = await hasher.GetAsync(path, 0, Own).AsTask().WaitAsync(Guard);

        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.Write(new byte[16]);
        }

        var after = await hasher.GetAsync(path, 0, Own).AsTask().WaitAsync(Guard);

        Assert.Equal(4096, new FileInfo(path).Length);
        Assert.NotEqual(before[HashType.Sha1], after[HashType.Sha1]);
        Assert.Equal(ExternalTool.Digest("sha1sum", path), after[HashType.Sha1]);
    }

    [Fact]
    public async Task AFileOverMaxFileSizeIsNotHashedAndSaysWhy()
    {
        var path = _fixture.Write("big", 3 * 1024 * 1024, seed: 2);
        var hasher = _fixture.Hasher(Settings(maxFileSize: 2 * MiB));

        var outcome = await hasher.GetAsync(path, 42, Own).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Failed, outcome.Status);
        Assert.True(outcome.IsError);
        Assert.Empty(outcome.Digests);
        Assert.Equal($"executable {path} is 3 MiB, over process.hash.max_file_size 2 MiB: not hashed", outcome.Message);
        Assert.Equal(1, _fixture.Counter("process.hash.too_large"));
        Assert.Equal(0, _fixture.Counter("process.hash.bytes"));
    }

    [Fact]
    public async Task OnlyRegularFilesAreHashed()
    {
        var hasher = _fixture.Hasher(Settings());

        var directory = await hasher.GetAsync(_fixture.Directory, 1, Own).AsTask().WaitAsync(Guard);
        var device = await hasher.GetAsync("/dev/zero", 1, Own).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Failed, directory.Status);
        Assert.Contains("is a directory, not a regular file", directory.Message);
        Assert.Contains("/dev/zero is a character device, not a regular file", device.Message);
        Assert.Equal(0, _fixture.Counter("process.hash.bytes"));
        Assert.Equal(2, _fixture.Counter("process.hash.errors"));
    }

    [Fact]
    public async Task MissingFilesAndRelativePathsGiveReasons()
    {
        var hasher = _fixture.Hasher(Settings());

        var missing = await hasher.GetAsync(_fixture.Path("gone"), 7, Own).AsTask().WaitAsync(Guard);
        var relative = await hasher.GetAsync("bin/tool", 7, Own).AsTask().WaitAsync(Guard);
        var none = await hasher.GetAsync(null, 7, Own).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Failed, missing.Status);
        Assert.Contains("No such file or directory", missing.Message);
        Assert.Equal(HashStatus.Skipped, relative.Status);
        Assert.Equal("executable path 'bin/tool' of PID 7 is not absolute: not hashed", relative.Message);
        Assert.Equal(HashStatus.Skipped, none.Status);
        Assert.False(relative.IsError);
    }

    [Fact]
    public async Task AnEmptyHashTypesListTurnsHashingOff()
    {
        var hasher = _fixture.Hasher(Settings(types: []));
        var outcome = await hasher.GetAsync("/usr/bin/true", 1, Own);
        Assert.False(hasher.Enabled);
        Assert.Equal(HashStatus.Skipped, outcome.Status);
        Assert.Contains("hash_types is empty", outcome.Message);
    }

    [Fact]
    public async Task ConcurrentRequestsForOneFileHashItOnce()
    {
        // Drain the scan-rate bucket so the second file's hash waits for fake time while requests pile up.
        var first = _fixture.Write("first", 1024 * 1024, seed: 3);
        var shared = _fixture.Write("shared", 1024 * 1024, seed: 4);
        var hasher = _fixture.Hasher(Settings(maxFileSize: MiB, scanRate: MiB));
        await hasher.GetAsync(first, 1, Own).AsTask().WaitAsync(Guard);

        var requests = Enumerable.Range(0, 10).Select(i => hasher.GetAsync(shared, 100 + i, Own).AsTask()).ToArray();
        Assert.All(requests, r => Assert.False(r.IsCompleted));
        var outcomes = await _fixture.AdvanceUntil(Task.WhenAll(requests), TimeSpan.FromMilliseconds(100));

        Assert.All(outcomes, o => Assert.Same(outcomes[0], o));
        Assert.Equal(ExternalTool.Digest("sha1sum", shared), outcomes[0][HashType.Sha1]);
        Assert.Equal(2 * MiB, _fixture.Counter("process.hash.bytes"));
        Assert.Equal(11, _fixture.Counter("process.hash.misses"));
    }

    [Fact]
    public async Task AWaitLongerThanMaxWaitTimesOutWhileTheHashFillsTheCacheInTheBackground()
    {
        var first = _fixture.Write("first", 4 * 1024 * 1024, seed: 5);
        var slow = _fixture.Write("slow", 4 * 1024 * 1024, seed: 6);
        var hasher = _fixture.Hasher(Settings(maxFileSize: 4 * MiB, scanRate: MiB, maxWait: TimeSpan.FromSeconds(1)));
        await _fixture.AdvanceUntil(hasher.GetAsync(first, 1, Own).AsTask(), TimeSpan.FromMilliseconds(100));

        // The bucket is empty: the next 4 MiB need about 4 s, the caller waits 1 s.
        var outcome = await _fixture.AdvanceUntil(hasher.GetAsync(slow, 2, Own).AsTask(), TimeSpan.FromMilliseconds(100));

        Assert.True(outcome.TimedOut);
        Assert.True(outcome.IsError);
        Assert.Equal($"hash of executable {slow} was not ready within process.hash.max_wait 1s: published without it", outcome.Message);
        Assert.Equal(1, _fixture.Counter("process.hash.timeouts"));

        await _fixture.AdvanceUntil(() => hasher.CachedCount == 2, TimeSpan.FromMilliseconds(100));
        var later = hasher.GetAsync(slow, 3, Own);
        Assert.True(later.IsCompletedSuccessfully);
        Assert.Equal(ExternalTool.Digest("sha256sum", slow), (await later)[HashType.Sha256]);
        Assert.Equal(1, _fixture.Counter("process.hash.hits"));
    }

    [Fact]
    public async Task TheScanRateLimitPacesHashingInRealTime()
    {
        // Budget 1 MiB/s; burst = max_file_size = 3 MiB. The first file empties the bucket, so the second
        // 3 MiB file has to wait for 3 s of refill.
        var first = _fixture.Write("first", 3 * 1024 * 1024, seed: 7);
        var second = _fixture.Write("second", 3 * 1024 * 1024, seed: 8);
        var hasher = _fixture.Hasher(Settings(maxFileSize: 3 * MiB, scanRate: MiB), TimeProvider.System);
        await hasher.GetAsync(first, 1, Own).AsTask().WaitAsync(Guard);

        var stopwatch = Stopwatch.StartNew();
        var outcome = await hasher.GetAsync(second, 2, Own).AsTask().WaitAsync(Guard);
        stopwatch.Stop();

        Assert.Equal(HashStatus.Hashed, outcome.Status);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(2.5), $"3 MiB at 1 MiB/s took only {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task TheCacheIsBoundedAndEvictsTheLeastRecentlyUsed()
    {
        var a = _fixture.Write("a", 100, 1);
        var b = _fixture.Write("b", 100, 2);
        var c = _fixture.Write("c", 100, 3);
        var hasher = _fixture.Hasher(Settings(cacheSize: 2));

        foreach (var path in new[] { a, b, c, a })
        {
            await hasher.GetAsync(path, 1, Own).AsTask().WaitAsync(Guard);
        }

        Assert.Equal(2, hasher.CachedCount);
        Assert.Equal(2, _fixture.Counter("process.hash.evictions"));
        Assert.Equal(4, _fixture.Counter("process.hash.misses"));
        Assert.Equal(0, _fixture.Counter("process.hash.hits"));
    }

    [Fact]
    public async Task ADeletedButRunningExecutableIsHashedThroughProc()
    {
        var binary = _fixture.CopyOf("/usr/bin/sleep", "vanishing");
        using (var stream = new FileStream(binary, FileMode.Append, FileAccess.Write))
        {
            stream.Write("unique to this test"u8);
        }

        var expected = ExternalTool.Digest("sha256sum", binary);
        var process = _fixture.Start(binary, "30");
        File.Delete(binary);
        var executable = new FileInfo($"/proc/{process.Id}/exe").LinkTarget;
        Assert.Equal(binary + " (deleted)", executable);

        var hasher = _fixture.Hasher(Settings());
        var outcome = await hasher.GetAsync(executable, process.Id, Own).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Hashed, outcome.Status);
        Assert.Equal(expected, outcome[HashType.Sha256]);
    }

    [Fact]
    public async Task ForeignNamespacesAreHashedOnlyWhenAllowedAndKeyedByDeviceAndInode()
    {
        // Pretend our own namespace is another one, so every process looks foreign (no root needed).
        var binary = _fixture.CopyOf("/usr/bin/sleep", "foreign");
        var one = _fixture.Start(binary, "30");
        var two = _fixture.Start(binary, "30");
        var theirs = MountNamespace.OfProcess(one.Id);

        var strict = _fixture.Hasher(Settings(), ownMountNamespace: theirs + 1);
        var skipped = await strict.GetAsync(binary, one.Id, theirs).AsTask().WaitAsync(Guard);
        Assert.Equal(HashStatus.Skipped, skipped.Status);
        Assert.Contains($"PID {one.Id} runs in another mount namespace", skipped.Message);
        Assert.Contains("process.hash.other_namespaces: true", skipped.Message);

        var open = _fixture.Hasher(Settings(otherNamespaces: true), ownMountNamespace: theirs + 1);
        var first = await open.GetAsync("/path/that/means/nothing/here", one.Id, theirs).AsTask().WaitAsync(Guard);
        var second = open.GetAsync("/another/meaningless/path", two.Id, theirs);

        Assert.Equal(ExternalTool.Digest("sha256sum", binary), first[HashType.Sha256]);
        Assert.True(second.IsCompletedSuccessfully, "a second process running the same file is a cache hit");
        Assert.Same(first, await second);
    }

    [Fact]
    public async Task AnUnknownNamespaceOfAGoneProcessIsNotGuessed()
    {
        var hasher = _fixture.Hasher(Settings(otherNamespaces: true));
        var outcome = await hasher.GetAsync("/usr/bin/true", int.MaxValue, 0).AsTask().WaitAsync(Guard);
        Assert.Equal(HashStatus.Skipped, outcome.Status);
        Assert.Contains("mount namespace of PID 2147483647 is unknown", outcome.Message);
    }

    [Fact]
    public void MetricsAreRegisteredUnderProcessHash()
    {
        _fixture.Hasher(Settings());
        foreach (var name in new[] { "hits", "misses", "invalidations", "evictions", "bytes", "too_large", "errors", "timeouts" })
        {
            Assert.Equal(0, _fixture.Counter("process.hash." + name));
        }
    }

    [KernelFact]
    public async Task AProcessInAnotherMountNamespaceIsHashedOnlyWithOtherNamespaces()
    {
        // Inside a private mount namespace, a tmpfs hides the host's decoy and holds the real binary; the
        // host cannot see that file by path at all.
        var mountPoint = _fixture.Path("ns-only");
        Directory.CreateDirectory(mountPoint);
        var decoy = _fixture.CopyOf("/usr/bin/true", "ns-only/nsbin");
        var original = _fixture.CopyOf("/usr/bin/sleep", "nsbin-original");
        using (var stream = new FileStream(original, FileMode.Append, FileAccess.Write))
        {
            stream.Write("only in the namespace"u8);
        }

        var expected = ExternalTool.Digest("sha256sum", original);
        var process = _fixture.Start("unshare", "-m", "--propagation", "private", "sh", "-c",
            "mount -t tmpfs tmpfs \"$1\" && cp \"$2\" \"$1/nsbin\" && exec \"$1/nsbin\" 30", "sh", mountPoint, original);
        var inside = Path.Combine(mountPoint, "nsbin");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string? executable = null;
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            executable = new FileInfo($"/proc/{process.Id}/exe").LinkTarget;
            if (executable == inside)
            {
                break;
            }

            await Task.Delay(20);
        }

        Assert.True(executable == inside, $"the namespaced process did not start: {(process.HasExited ? process.StandardError.ReadToEnd() : executable)}");
        var theirs = MountNamespace.OfProcess(process.Id);
        Assert.NotEqual(0UL, theirs);
        Assert.NotEqual(Own, theirs);

        var strict = _fixture.Hasher(Settings());
        var skipped = await strict.GetAsync(executable, process.Id, theirs).AsTask().WaitAsync(Guard);
        Assert.Equal(HashStatus.Skipped, skipped.Status);
        Assert.Contains("another mount namespace", skipped.Message);
        Assert.Equal(0, _fixture.Counter("process.hash.bytes"));

        var open = _fixture.Hasher(Settings(otherNamespaces: true));
        var hashed = await open.GetAsync(executable, process.Id, theirs).AsTask().WaitAsync(Guard);
        Assert.Equal(HashStatus.Hashed, hashed.Status);
        Assert.Equal(expected, hashed[HashType.Sha256]);
        Assert.NotEqual(ExternalTool.Digest("sha256sum", decoy), hashed[HashType.Sha256]);
    }

    private static ulong Inode(string path)
    {
        Assert.Equal(0, NativeFile.Stat(path, out var identity));
        return identity.Inode;
    }
}
