using global::System.Diagnostics;
using Shipper.Module.System.Process.Enrichment;
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
        var request = HashFixture.OfProcess(process.Id);
        Assert.Equal(binary, request.Executable);
        Assert.Equal(Own, request.MountNamespace);

        var hasher = _fixture.Hasher(Settings());
        var outcome = await hasher.GetAsync(request).AsTask().WaitAsync(Guard);

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
        var (process, request) = await _fixture.RunToExit(binary);
        Assert.Equal(0, process.ExitCode);
        var hasher = _fixture.Hasher(Settings());

        var first = await hasher.GetAsync(request).AsTask().WaitAsync(Guard);
        var bytes = _fixture.Counter("process.hash.bytes");

        // The cache answers from the exec-time identity alone: the file is not even looked at (here it is gone).
        File.Delete(binary);
        var second = hasher.GetAsync(request with { Pid = process.Id + 1 });

        Assert.True(second.IsCompletedSuccessfully, "a hit answers synchronously");
        Assert.Same(first, await second);
        Assert.Equal(bytes, _fixture.Counter("process.hash.bytes"));
        Assert.Equal(1, _fixture.Counter("process.hash.hits"));
        Assert.Equal(1, _fixture.Counter("process.hash.misses"));
        Assert.Equal(ExternalTool.Digest("sha1sum", "/usr/bin/true"), first[HashType.Sha1]);
    }

    [Fact]
    public async Task APackageUpgradeBetweenTwoExecsGivesEachExecItsOwnFilesDigest()
    {
        var binary = _fixture.UniqueCopyOf("/usr/bin/sleep", "tool", "version 1");
        var oldDigest = ExternalTool.Digest("sha256sum", binary);
        var hasher = _fixture.Hasher(Settings());
        var before = _fixture.Start(binary, "30");
        var oldRequest = HashFixture.OfProcess(before.Id);
        hasher.HashAtExec(oldRequest);

        // A package upgrade: a new file renamed over the old one (new inode), then the service restarts.
        var replacement = _fixture.UniqueCopyOf("/usr/bin/sleep", "tool.new", "version 2");
        var newDigest = ExternalTool.Digest("sha256sum", replacement);
        File.Move(replacement, binary, overwrite: true);
        var after = _fixture.Start(binary, "30");
        var newRequest = HashFixture.OfProcess(after.Id);
        Assert.NotEqual(oldRequest.Identity!.Value.Inode, newRequest.Identity!.Value.Inode);

        var newOutcome = await hasher.GetAsync(newRequest).AsTask().WaitAsync(Guard);
        var oldOutcome = await hasher.GetAsync(oldRequest).AsTask().WaitAsync(Guard);

        Assert.Equal(oldDigest, oldOutcome[HashType.Sha256]);
        Assert.Equal(newDigest, newOutcome[HashType.Sha256]);
        Assert.Equal(0, _fixture.Counter("process.hash.changed"));
    }

    [Fact]
    public async Task AFileRewrittenInPlaceAfterItsProcessExitedGivesNoDigestOfTheNewContent()
    {
        var binary = _fixture.CopyOf("/usr/bin/true", "tool");
        var (process, ran) = await _fixture.RunToExit(binary);
        var hasher = _fixture.Hasher(Settings());

        // Same inode, new size and mtime: what runs next is another version, not the one that ran.
        using (var stream = new FileStream(binary, FileMode.Append, FileAccess.Write))
        {
            stream.Write("appended"u8);
        }

        var outcome = await hasher.GetAsync(ran).AsTask().WaitAsync(Guard);
        var next = await hasher.GetAsync(HashFixture.OfFile(binary)).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Failed, outcome.Status);
        Assert.Empty(outcome.Digests);
        Assert.Equal($"executable {binary} of PID {process.Id} changed after the exec: its size, times, owner or links are no longer those at the exec; not hashed", outcome.Message);
        Assert.Equal(1, _fixture.Counter("process.hash.changed"));
        Assert.Equal(ExternalTool.Digest("sha1sum", binary), next[HashType.Sha1]);
    }

    [Fact]
    public async Task ASameSizeRewriteIsCaughtByTheTimestamps()
    {
        var path = _fixture.Write("data", 4096, seed: 1);
        var ran = HashFixture.OfFile(path);
        var hasher = _fixture.Hasher(Settings());

        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            stream.Write(new byte[16]);
        }

        var outcome = await hasher.GetAsync(ran).AsTask().WaitAsync(Guard);

        Assert.Equal(4096, new FileInfo(path).Length);
        Assert.Empty(outcome.Digests);
        Assert.Contains("changed after the exec", outcome.Message);
        Assert.Equal(0, _fixture.Counter("process.hash.bytes"));
    }

    [Fact]
    public async Task AShortProcessWhoseFileIsRenamedOverRightAfterItExitsGetsItsOwnDigest()
    {
        var binary = _fixture.UniqueCopyOf("/usr/bin/sleep", "x", "the one that ran");
        var expected = ExternalTool.Digest("sha256sum", binary);
        var hasher = _fixture.Hasher(Settings());
        var process = _fixture.Start(binary, "0.2");
        Assert.True(hasher.HashAtExec(HashFixture.OfProcess(process.Id)), "a miss opens the file at the exec");
        var request = HashFixture.OfProcess(process.Id);
        await HashFixture.Exited(process);

        var replacement = _fixture.UniqueCopyOf("/usr/bin/sleep", "x.new", "the replacement");
        File.Move(replacement, binary, overwrite: true);
        var outcome = await hasher.GetAsync(request).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Hashed, outcome.Status);
        Assert.Equal(expected, outcome[HashType.Sha256]);
        Assert.Equal(1, _fixture.Counter("process.hash.opened_at_exec"));
    }

    [Fact]
    public async Task AFileRenamedOverBeforeAnyoneOpenedItGivesNoDigestRatherThanTheReplacements()
    {
        // The process was gone before the hasher heard of it: its path now leads to another file.
        var binary = _fixture.UniqueCopyOf("/usr/bin/sleep", "x", "the one that ran");
        var process = _fixture.Start(binary, "0.2");
        var request = HashFixture.OfProcess(process.Id);
        await HashFixture.Exited(process);
        var replacement = _fixture.UniqueCopyOf("/usr/bin/sleep", "x.new", "the replacement");
        File.Move(replacement, binary, overwrite: true);
        var hasher = _fixture.Hasher(Settings());

        var outcome = await hasher.GetAsync(request).AsTask().WaitAsync(Guard);

        Assert.Empty(outcome.Digests);
        Assert.StartsWith($"executable {binary} of PID {process.Id} changed after the exec: {binary} is now another file (inode ", outcome.Message);
        Assert.Equal(1, _fixture.Counter("process.hash.changed"));
        Assert.Equal(0, _fixture.Counter("process.hash.bytes"));
    }

    [Fact]
    public async Task AFileDeletedAfterItsProcessExitedGivesNoDigestAndSaysSo()
    {
        var binary = _fixture.CopyOf("/usr/bin/true", "gone-after");
        var (process, request) = await _fixture.RunToExit(binary);
        File.Delete(binary);
        var hasher = _fixture.Hasher(Settings());

        var outcome = await hasher.GetAsync(request).AsTask().WaitAsync(Guard);

        Assert.Equal($"executable {binary} of PID {process.Id} changed after the exec: {binary} was deleted or renamed and PID {process.Id} has exited; not hashed", outcome.Message);
        Assert.Equal(1, _fixture.Counter("process.hash.changed"));
    }

    [Fact]
    public async Task ARunningProcessWhoseFileIsReplacedOrDeletedKeepsTheDigestOfWhatRuns()
    {
        var replaced = _fixture.UniqueCopyOf("/usr/bin/sleep", "replaced", "replaced while running");
        var deleted = _fixture.UniqueCopyOf("/usr/bin/sleep", "deleted", "deleted while running");
        var replacedDigest = ExternalTool.Digest("sha256sum", replaced);
        var deletedDigest = ExternalTool.Digest("sha256sum", deleted);
        var hasher = _fixture.Hasher(Settings());
        var one = _fixture.Start(replaced, "30");
        var two = _fixture.Start(deleted, "30");
        var oneRequest = HashFixture.OfProcess(one.Id);
        var twoRequest = HashFixture.OfProcess(two.Id);
        hasher.HashAtExec(oneRequest);
        hasher.HashAtExec(twoRequest);

        File.Move(_fixture.UniqueCopyOf("/usr/bin/sleep", "replacement", "the replacement"), replaced, overwrite: true);
        File.Delete(deleted);
        var oneOutcome = await hasher.GetAsync(oneRequest).AsTask().WaitAsync(Guard);
        var twoOutcome = await hasher.GetAsync(twoRequest).AsTask().WaitAsync(Guard);

        // The document published at the exit asks again with the same exec-time identity: still a hit.
        var oneAgain = hasher.GetAsync(oneRequest);
        Assert.True(oneAgain.IsCompletedSuccessfully);
        Assert.Equal(replacedDigest, oneOutcome[HashType.Sha256]);
        Assert.Equal(replacedDigest, (await oneAgain)[HashType.Sha256]);
        Assert.Equal(deletedDigest, twoOutcome[HashType.Sha256]);
        Assert.Equal(0, _fixture.Counter("process.hash.changed"));
    }

    [Fact]
    public async Task ARunningProcessWhoseFileWasRenamedOverBeforeAnyoneOpenedItIsReadThroughProc()
    {
        // No HashAtExec (say the version was pushed out of the cache): /proc/<pid>/exe still leads to the inode
        // that runs, whose links and ctime moved with the rename but whose content the kernel kept from writes.
        var binary = _fixture.UniqueCopyOf("/usr/bin/sleep", "running", "the one that runs");
        var expected = ExternalTool.Digest("sha256sum", binary);
        var process = _fixture.Start(binary, "30");
        var request = HashFixture.OfProcess(process.Id);
        File.Move(_fixture.UniqueCopyOf("/usr/bin/sleep", "running.new", "the replacement"), binary, overwrite: true);
        var hasher = _fixture.Hasher(Settings());

        var outcome = await hasher.GetAsync(request).AsTask().WaitAsync(Guard);

        Assert.Equal(expected, outcome[HashType.Sha256]);
        Assert.Equal(0, _fixture.Counter("process.hash.changed"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AFileRenamedOverWhileItIsBeingHashedKeepsItsDigestOnlyWhileItsProcessRunsIt(bool stillRunning)
    {
        // An empty scan-rate bucket holds the hash (opened at the exec) until fake time moves, so the rename
        // lands between the open and the read.
        var filler = _fixture.Write("filler", 1024 * 1024, seed: 11);
        var binary = _fixture.UniqueCopyOf("/usr/bin/sleep", "held", "held " + stillRunning);
        var expected = ExternalTool.Digest("sha256sum", binary);
        var hasher = _fixture.Hasher(Settings(maxFileSize: MiB, scanRate: MiB));
        await hasher.GetAsync(HashFixture.OfFile(filler)).AsTask().WaitAsync(Guard);
        var process = _fixture.Start(binary, stillRunning ? "30" : "0.1");
        var request = HashFixture.OfProcess(process.Id);
        Assert.True(hasher.HashAtExec(request));
        if (!stillRunning)
        {
            await HashFixture.Exited(process);
        }

        File.Move(_fixture.UniqueCopyOf("/usr/bin/sleep", "held.new", "the replacement"), binary, overwrite: true);
        var outcome = await _fixture.AdvanceUntil(hasher.GetAsync(request).AsTask(), TimeSpan.FromMilliseconds(50));

        if (stillRunning)
        {
            Assert.Equal(expected, outcome[HashType.Sha256]);
            Assert.Equal(0, _fixture.Counter("process.hash.changed"));
        }
        else
        {
            Assert.Empty(outcome.Digests);
            Assert.Equal(
                $"executable {binary} of PID {process.Id} changed after the exec: it was renamed, unlinked or re-owned while it was being hashed, and PID {process.Id} no longer runs it; not hashed",
                outcome.Message);
            Assert.Equal(1, _fixture.Counter("process.hash.changed"));
        }
    }

    [Fact]
    public async Task AReusedPidCannotLendItsFileToTheProcessThatHadItBefore()
    {
        // The request names the version PID n ran; /proc/n/exe now leads to another file (a later exec, or a
        // reused pid): that file is not read in its place, in our namespace or another.
        var first = _fixture.UniqueCopyOf("/usr/bin/sleep", "first", "first image");
        var second = _fixture.UniqueCopyOf("/usr/bin/sleep", "second", "second image");
        var process = _fixture.Start(second, "30");
        var ranFirst = HashFixture.OfFile(first, process.Id);
        File.Delete(first);
        var hasher = _fixture.Hasher(Settings(otherNamespaces: true), ownMountNamespace: Own + 1);

        var outcome = await hasher.GetAsync(ranFirst with { MountNamespace = Own }).AsTask().WaitAsync(Guard);

        Assert.Empty(outcome.Digests);
        Assert.Equal($"cannot hash executable {first}: PID {process.Id} ran another executable before it could be read", outcome.Message);
        Assert.Equal(0, _fixture.Counter("process.hash.bytes"));
    }

    [Fact]
    public async Task AVersionPushedOutOfTheCacheIsOpenedAgainAtItsNextExec()
    {
        var binary = _fixture.CopyOf("/usr/bin/sleep", "evicted");
        var other = _fixture.Write("other", 100, seed: 9);
        var hasher = _fixture.Hasher(Settings(cacheSize: 1));
        var one = _fixture.Start(binary, "30");
        await hasher.GetAsync(HashFixture.OfProcess(one.Id)).AsTask().WaitAsync(Guard);
        await hasher.GetAsync(HashFixture.OfFile(other)).AsTask().WaitAsync(Guard);
        var two = _fixture.Start(binary, "30");
        var request = HashFixture.OfProcess(two.Id);

        Assert.Equal(1, _fixture.Counter("process.hash.evictions"));
        Assert.True(hasher.HashAtExec(request), "the evicted version is a miss again");
        Assert.Equal(ExternalTool.Digest("sha1sum", binary), (await hasher.GetAsync(request).AsTask().WaitAsync(Guard))[HashType.Sha1]);
    }

    [Fact]
    public async Task DescriptorsHeldForQueuedHashesAreCappedAndTheRestOpenWhenTheirTurnComes()
    {
        // The first hash empties the scan-rate bucket; the next ones wait for fake time, holding their descriptors.
        var filler = _fixture.Write("filler", 1024 * 1024, seed: 12);
        var hasher = _fixture.Hasher(Settings(maxFileSize: MiB, scanRate: MiB), maxHeldDescriptors: 1);
        await hasher.GetAsync(HashFixture.OfFile(filler)).AsTask().WaitAsync(Guard);
        var first = _fixture.UniqueCopyOf("/usr/bin/sleep", "first", "first");
        var second = _fixture.UniqueCopyOf("/usr/bin/sleep", "second", "second");
        var one = HashFixture.OfProcess(_fixture.Start(first, "30").Id);
        var two = HashFixture.OfProcess(_fixture.Start(second, "30").Id);

        Assert.True(hasher.HashAtExec(one));
        Assert.False(hasher.HashAtExec(two), "one descriptor is held already");
        var outcomes = await _fixture.AdvanceUntil(Task.WhenAll(hasher.GetAsync(one).AsTask(), hasher.GetAsync(two).AsTask()), TimeSpan.FromMilliseconds(50));

        Assert.Equal(ExternalTool.Digest("sha1sum", first), outcomes[0][HashType.Sha1]);
        Assert.Equal(ExternalTool.Digest("sha1sum", second), outcomes[1][HashType.Sha1]);
        Assert.Equal(1, _fixture.Counter("process.hash.opened_at_exec"));
        var three = HashFixture.OfProcess(_fixture.Start(_fixture.UniqueCopyOf("/usr/bin/sleep", "third", "third"), "30").Id);
        Assert.True(hasher.HashAtExec(three), "the held descriptor was given back");
    }

    [Fact]
    public async Task AHitAtTheExecOpensNothing()
    {
        var binary = _fixture.CopyOf("/usr/bin/sleep", "hit");
        var hasher = _fixture.Hasher(Settings());
        var one = _fixture.Start(binary, "30");
        var request = HashFixture.OfProcess(one.Id);
        await hasher.GetAsync(request).AsTask().WaitAsync(Guard);
        var two = _fixture.Start(binary, "30");

        Assert.False(hasher.HashAtExec(HashFixture.OfProcess(two.Id)), "the version is cached: nothing to open");
        Assert.Equal(0, _fixture.Counter("process.hash.opened_at_exec"));
    }

    [Fact]
    public async Task AFileOverMaxFileSizeIsNotHashedAndSaysWhy()
    {
        var path = _fixture.Write("big", 3 * 1024 * 1024, seed: 2);
        var hasher = _fixture.Hasher(Settings(maxFileSize: 2 * MiB));

        var outcome = await hasher.GetAsync(HashFixture.OfFile(path, 42)).AsTask().WaitAsync(Guard);

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

        var directory = await hasher.GetAsync(HashFixture.OfFile(_fixture.Directory, 1)).AsTask().WaitAsync(Guard);
        var device = await hasher.GetAsync(HashFixture.OfFile("/dev/zero", 1)).AsTask().WaitAsync(Guard);

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

        var missing = await hasher.GetAsync(HashFixture.OfFile(_fixture.Path("gone"), 7)).AsTask().WaitAsync(Guard);
        var relative = await hasher.GetAsync(new ExecutableHashRequest(7, "bin/tool", Own, null)).AsTask().WaitAsync(Guard);
        var none = await hasher.GetAsync(new ExecutableHashRequest(7, "", Own, null)).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Failed, missing.Status);
        Assert.Equal("cannot hash executable " + _fixture.Path("gone") + " of PID 7: the process exited before /proc/7/exe said which file it ran", missing.Message);
        Assert.Equal(HashStatus.Skipped, relative.Status);
        Assert.Equal("executable path 'bin/tool' of PID 7 is not absolute: not hashed", relative.Message);
        Assert.Equal(HashStatus.Skipped, none.Status);
        Assert.False(relative.IsError);
    }

    [Fact]
    public async Task AnEmptyHashTypesListTurnsHashingOff()
    {
        var hasher = _fixture.Hasher(Settings(types: []));
        var outcome = await hasher.GetAsync(HashFixture.OfFile("/usr/bin/true", 1));
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
        await hasher.GetAsync(HashFixture.OfFile(first, 1)).AsTask().WaitAsync(Guard);

        var requests = Enumerable.Range(0, 10).Select(i => hasher.GetAsync(HashFixture.OfFile(shared, 100 + i)).AsTask()).ToArray();
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
        await _fixture.AdvanceUntil(hasher.GetAsync(HashFixture.OfFile(first, 1)).AsTask(), TimeSpan.FromMilliseconds(100));

        // The bucket is empty: the next 4 MiB need about 4 s, the caller waits 1 s.
        var outcome = await _fixture.AdvanceUntil(hasher.GetAsync(HashFixture.OfFile(slow, 2)).AsTask(), TimeSpan.FromMilliseconds(100));

        Assert.True(outcome.TimedOut);
        Assert.True(outcome.IsError);
        Assert.Equal($"hash of executable {slow} was not ready within process.hash.max_wait 1s: published without it", outcome.Message);
        Assert.Equal(1, _fixture.Counter("process.hash.timeouts"));

        await _fixture.AdvanceUntil(() => hasher.CachedCount == 2, TimeSpan.FromMilliseconds(100));
        var later = hasher.GetAsync(HashFixture.OfFile(slow, 3));
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

        // Timed from before the first hash: however long its reading takes, the bucket it emptied holds 3 MiB
        // again only 3 s after it was taken, so a slow machine can only make this longer.
        var stopwatch = Stopwatch.StartNew();
        await hasher.GetAsync(HashFixture.OfFile(first)).AsTask().WaitAsync(Guard);
        var outcome = await hasher.GetAsync(HashFixture.OfFile(second)).AsTask().WaitAsync(Guard);
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
            await hasher.GetAsync(HashFixture.OfFile(path, 1)).AsTask().WaitAsync(Guard);
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
        var request = HashFixture.OfProcess(process.Id);
        Assert.Equal(binary + " (deleted)", request.Executable);

        var hasher = _fixture.Hasher(Settings());
        var outcome = await hasher.GetAsync(request).AsTask().WaitAsync(Guard);

        Assert.Equal(HashStatus.Hashed, outcome.Status);
        Assert.Equal(expected, outcome[HashType.Sha256]);
    }

    [Fact]
    public async Task ForeignNamespacesAreHashedOnlyWhenAllowedAndOnlyThroughProc()
    {
        // Pretend our own namespace is another one, so every process looks foreign (no root needed).
        var binary = _fixture.CopyOf("/usr/bin/sleep", "foreign");
        var one = _fixture.Start(binary, "30");
        var two = _fixture.Start(binary, "30");
        var theirs = MountNamespace.OfProcess(one.Id);

        var oneRequest = HashFixture.OfProcess(one.Id);
        var twoRequest = HashFixture.OfProcess(two.Id);
        var strict = _fixture.Hasher(Settings(), ownMountNamespace: theirs + 1);
        var skipped = await strict.GetAsync(oneRequest).AsTask().WaitAsync(Guard);
        Assert.Equal(HashStatus.Skipped, skipped.Status);
        Assert.Contains($"PID {one.Id} runs in another mount namespace", skipped.Message);
        Assert.Contains("process.hash.other_namespaces: true", skipped.Message);

        var open = _fixture.Hasher(Settings(otherNamespaces: true), ownMountNamespace: theirs + 1);
        var first = await open.GetAsync(oneRequest with { Executable = "/path/that/means/nothing/here" }).AsTask().WaitAsync(Guard);
        var second = open.GetAsync(twoRequest with { Executable = "/another/meaningless/path" });

        Assert.Equal(ExternalTool.Digest("sha256sum", binary), first[HashType.Sha256]);
        Assert.True(second.IsCompletedSuccessfully, "a second process running the same file is a cache hit");
        Assert.Same(first, await second);
    }

    [Fact]
    public async Task AnUnknownNamespaceOfAGoneProcessIsNotGuessed()
    {
        var hasher = _fixture.Hasher(Settings(otherNamespaces: true));
        var outcome = await hasher.GetAsync(HashFixture.OfFile("/usr/bin/true", int.MaxValue, mountNamespace: 0)).AsTask().WaitAsync(Guard);
        Assert.Equal(HashStatus.Skipped, outcome.Status);
        Assert.Contains("mount namespace of PID 2147483647 is unknown", outcome.Message);
    }

    [Fact]
    public void MetricsAreRegisteredUnderProcessHash()
    {
        _fixture.Hasher(Settings());
        foreach (var name in new[] { "hits", "misses", "opened_at_exec", "changed", "evictions", "bytes", "too_large", "errors", "timeouts" })
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

        var request = HashFixture.OfProcess(process.Id);
        Assert.Equal(theirs, request.MountNamespace);
        var strict = _fixture.Hasher(Settings());
        var skipped = await strict.GetAsync(request).AsTask().WaitAsync(Guard);
        Assert.Equal(HashStatus.Skipped, skipped.Status);
        Assert.Contains("another mount namespace", skipped.Message);
        Assert.Equal(0, _fixture.Counter("process.hash.bytes"));

        var open = _fixture.Hasher(Settings(otherNamespaces: true));
        var hashed = await open.GetAsync(request).AsTask().WaitAsync(Guard);
        Assert.Equal(HashStatus.Hashed, hashed.Status);
        Assert.Equal(expected, hashed[HashType.Sha256]);
        Assert.NotEqual(ExternalTool.Digest("sha256sum", decoy), hashed[HashType.Sha256]);
    }
}
