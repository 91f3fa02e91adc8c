using global::System.Text;
using Shipper.Module.System.Process.Procfs;
using Shipper.Tests.Support;

namespace Shipper.Tests.Module.System.Process.Procfs;

public class ProcReaderTests
{
    [Fact]
    public void ReadsAFullFakeProcess()
    {
        using var tree = new FakeProcTree();
        tree.AddFullProcess(4242, "my) (prog", "/usr/bin/fake\0--flag\0two words\0"u8.ToArray());
        using var reader = new ProcReader(tree.Root);

        var sample = reader.Read(4242, out var failures);

        Assert.Equal(ProcReadFailures.None, failures);
        Assert.Null(sample.Errors);
        Assert.Equal(4242, sample.Pid);
        Assert.Equal(new[] { "/usr/bin/fake", "--flag", "two words" }, sample.Args);
        Assert.Equal("/usr/bin/fake", sample.Executable);
        Assert.Equal("/srv/work dir", sample.WorkingDirectory);
        Assert.Equal("my) (prog", sample.Name);
        Assert.Equal('S', sample.State);
        Assert.Equal(1, sample.ParentPid);
        Assert.Equal(34817, sample.TtyNr);
        Assert.Equal(5000ul, sample.StartTimeTicks);
        Assert.Equal(new uint[] { 1000, 1001, 1002, 1003 }, sample.Uids);
        Assert.Equal(new uint[] { 100, 101, 102, 103 }, sample.Gids);
        Assert.Equal(1ul, sample.CapPermitted);
        Assert.Equal(2ul, sample.CapEffective);
        Assert.Equal(4026531841ul, sample.MountNamespace);
    }

    [Fact]
    public void ReadsTheContainerFromTheCgroupFile()
    {
        const string id = "3f1c2d4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f";
        using var tree = new FakeProcTree();
        tree.AddFullProcess(10, "a", "a\0"u8.ToArray());
        tree.WriteFile(10, "cgroup", $"4:memory:/docker/{id}\n1:name=systemd:/system.slice/docker-{id}.scope\n0::/\n");
        tree.AddFullProcess(11, "b", "b\0"u8.ToArray());
        tree.WriteFile(11, "cgroup", "0::/user.slice\n");
        tree.AddFullProcess(12, "c", "c\0"u8.ToArray()); // no cgroup file: the kernel was built without cgroups
        using var reader = new ProcReader(tree.Root);

        var inContainer = reader.Read(10, out var failures);
        var onHost = reader.Read(11);
        var unknown = reader.Read(12);

        Assert.Equal(ProcReadFailures.None, failures);
        Assert.True(inContainer.CgroupRead);
        Assert.Equal(id, inContainer.Container?.Id);
        Assert.Equal("docker", inContainer.Container?.Runtime);
        Assert.True(onHost.CgroupRead);
        Assert.Null(onHost.Container);
        Assert.False(unknown.CgroupRead);
        Assert.Null(unknown.Errors);
    }

    [Fact]
    public void AMissingProcessGivesOneErrorAndNoException()
    {
        using var tree = new FakeProcTree();
        using var reader = new ProcReader(tree.Root);

        var sample = reader.Read(777, out var failures);

        Assert.Equal(ProcReadFailures.AllKinds | ProcReadFailures.Exited, failures);
        Assert.Equal($"cannot read {tree.Root}/777: process exited", Assert.Single(sample.Errors!));
        Assert.Null(sample.Args);
    }

    [Fact]
    public void AProcessReapedMidReadStopsReadingAndSaysWhy()
    {
        // stat, cmdline, exe and cwd were there; status is gone (ENOENT there means reaped), so ns/mnt is not
        // even tried, and every missing part is named.
        using var tree = new FakeProcTree();
        tree.AddProcess(5);
        tree.WriteFile(5, "stat", "5 (a) S 1 5 5 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        tree.WriteFile(5, "cmdline", "a\0"u8.ToArray());
        tree.Link(5, "exe", "/bin/a");
        tree.Link(5, "cwd", "/");
        using var reader = new ProcReader(tree.Root);

        var sample = reader.Read(5, out var failures);

        Assert.Equal(new[] { "a" }, sample.Args);
        Assert.Equal("/bin/a", sample.Executable);
        Assert.Equal("/", sample.WorkingDirectory);
        Assert.Equal(5000ul, sample.StartTimeTicks);
        Assert.Equal(ProcReadFailures.Status | ProcReadFailures.Namespace | ProcReadFailures.Exited, failures);
        Assert.Equal(
            new[]
            {
                $"cannot read {tree.Root}/5/status: process exited",
                $"cannot read {tree.Root}/5/ns/mnt: process exited",
            },
            sample.Errors);
    }

    [Fact]
    public void GarbageStatAndStatusAreExplicitErrors()
    {
        using var tree = new FakeProcTree();
        tree.AddFullProcess(9, "x", "x\0"u8.ToArray());
        tree.WriteFile(9, "stat", "9 (x) S garbage");
        tree.WriteFile(9, "status", "Uid:\tnope\n");
        using var reader = new ProcReader(tree.Root);

        var sample = reader.Read(9, out var failures);

        Assert.Equal(ProcReadFailures.Stat | ProcReadFailures.Status, failures);
        Assert.Contains($"cannot parse {tree.Root}/9/stat: unexpected format", sample.Errors!);
        Assert.Contains($"cannot parse {tree.Root}/9/status: no valid Uid/Gid lines", sample.Errors!);
        Assert.Equal("/usr/bin/fake", sample.Executable);
    }

    [Fact]
    public void AnEmptyCmdlineIsAZombieNotAnError()
    {
        using var tree = new FakeProcTree();
        tree.AddFullProcess(11, "z", []);
        using var reader = new ProcReader(tree.Root);

        var sample = reader.Read(11, out var failures);

        Assert.Empty(sample.Args!);
        Assert.Equal(ProcReadFailures.Exited, failures);
        Assert.Null(sample.Errors);
    }

    [Fact]
    public void CutsCommandLinesAtTheLimitAndFlagsThem()
    {
        using var tree = new FakeProcTree();
        tree.AddFullProcess(12, "big", Encoding.ASCII.GetBytes(new string('a', 100_000) + "\0"));
        tree.AddFullProcess(13, "fits", Encoding.ASCII.GetBytes(new string('b', 49_999) + "\0"));
        using var reader = new ProcReader(tree.Root, maxArgsBytes: 50_000);

        var big = reader.Read(12);
        var fits = reader.Read(13);

        Assert.Equal(50_000, Assert.Single(big.Args!).Length);
        Assert.True(big.ArgsTruncated);
        Assert.Null(big.ArgsTrueCount); // a fake tree has no process memory to read argc from
        Assert.Null(big.Errors);
        Assert.Equal(49_999, Assert.Single(fits.Args!).Length);
        Assert.False(fits.ArgsTruncated);
    }

    /// <summary>
    /// A real process with a 1.06 MiB command line (17 arguments of 64 KiB after <c>sh -c 'sleep 30; :' sh</c>):
    /// both ways of reading it (process memory, and the <c>cmdline</c> file) keep the first 128 KiB, cut inside
    /// the sixth argument, flag it, and, where process memory may be read, know the true count, 21.
    /// </summary>
    [KernelFact]
    public void AMoreThanOneMegabyteCommandLineIsCutAtTheLimitWithItsTrueCount()
    {
        var args = new List<string> { "-c", "sleep 30; :", "sh" };
        for (var i = 0; i < 17; i++)
        {
            args.Add(new string((char)('a' + i), 64 * 1024));
        }

        using var child = ChildProcess.Start("/bin/sh", args.ToArray());
        foreach (var processCalls in new[] { true, false })
        {
            using var reader = new ProcReader(maxArgsBytes: ProcReader.DefaultMaxArgsBytes, processCalls: processCalls);

            var sample = WaitFor(() => reader.Read(child.Pid), s => s.Args is ["/bin/sh", ..]);

            Assert.True(sample.ArgsTruncated);
            Assert.Equal(processCalls ? 21 : null, sample.ArgsTrueCount);
            Assert.Equal(["/bin/sh", "-c", "sleep 30; :", "sh", args[3]], sample.Args![..5]);
            Assert.Equal(6, sample.Args.Length);
            var kept = 0;
            foreach (var arg in sample.Args)
            {
                kept += Encoding.UTF8.GetByteCount(arg) + 1;
            }

            Assert.Equal(ProcReader.DefaultMaxArgsBytes + 1, kept); // the cut argument has no NUL of its own
            Assert.Equal(new string('b', sample.Args[5].Length), sample.Args[5]);
            Assert.Null(sample.Errors);
        }
    }

    [Fact]
    public void AStatOnlySampleHasTheStatFieldsAndNoErrorsForTheRest()
    {
        using var tree = new FakeProcTree();
        tree.AddFullProcess(13, "forked) x", "parent\0args\0"u8.ToArray());
        using var reader = new ProcReader(tree.Root);

        var sample = reader.ReadStatOnly(13, out var failures);

        Assert.Equal(ProcReadFailures.None, failures);
        Assert.True(sample.StatOnly);
        Assert.Null(sample.Errors);
        Assert.Equal("forked) x", sample.Name);
        Assert.Equal(5000ul, sample.StartTimeTicks);
        Assert.Equal(1, sample.ParentPid);
        Assert.Null(sample.Args);
        Assert.Null(sample.Executable);

        var gone = reader.ReadStatOnly(14, out failures);
        Assert.Equal(ProcReadFailures.Stat | ProcReadFailures.Exited, failures);
        Assert.Equal($"cannot read {tree.Root}/14/stat: process exited", Assert.Single(gone.Errors!));

        tree.AddProcess(15);
        tree.WriteFile(15, "stat", "15 (x");
        reader.ReadStatOnly(15, out failures);
        Assert.Equal(ProcReadFailures.Stat, failures);
    }

    [Fact]
    public void StatFilesHeldFromTheForkAreBoundedAndReleased()
    {
        using var tree = new FakeProcTree();
        for (var pid = 100; pid < 100 + ProcReader.MaxHeldStatFiles + 44; pid++)
        {
            tree.AddFullProcess(pid, "child", "child\0"u8.ToArray());
        }

        using var reader = new ProcReader(tree.Root);
        for (var pid = 100; pid < 100 + ProcReader.MaxHeldStatFiles + 44; pid++)
        {
            Assert.Equal(5000ul, reader.ReadStatOnly(pid, out _, holdOpen: true).StartTimeTicks);
        }

        // The oldest were given up; a later read of one of them opens the file afresh.
        Assert.Equal(ProcReader.MaxHeldStatFiles, reader.HeldStatFiles);
        Assert.Equal("child", reader.Read(100).Name);

        // The exec's read uses and closes the held file; an exit releases it.
        reader.Read(100 + ProcReader.MaxHeldStatFiles + 43);
        reader.Release(100 + ProcReader.MaxHeldStatFiles + 42);
        reader.Release(100 + ProcReader.MaxHeldStatFiles + 42);
        Assert.Equal(ProcReader.MaxHeldStatFiles - 2, reader.HeldStatFiles);

        // A long-held entry at the front does not let released ones pile up.
        for (var round = 0; round < 50; round++)
        {
            for (var pid = 100; pid < 144; pid++)
            {
                reader.ReadStatOnly(pid, out _, holdOpen: true);
                reader.Release(pid);
            }
        }

        Assert.Equal(ProcReader.MaxHeldStatFiles - 2, reader.HeldStatFiles);
        Assert.InRange(reader.HeldStatOrderLength, reader.HeldStatFiles, (4 * ProcReader.MaxHeldStatFiles) + 1);
    }

    [KernelFact]
    public void AStatFileHeldSinceTheForkShowsTheProcessAfterItsExec()
    {
        using var child = ChildProcess.Start("/bin/sh", redirectOutput: true, "-c", "echo ready; read line; exec /bin/sleep 30");
        Assert.Equal("ready", child.ReadLine());
        using var reader = new ProcReader();
        var forked = reader.ReadStatOnly(child.Pid, out _, holdOpen: true);
        Assert.Equal("sh", forked.Name);
        Assert.Equal(1, reader.HeldStatFiles);

        // Read once the exec is done: a read racing the exec can see stat before it and exe after it.
        child.Process.StandardInput.WriteLine();
        WaitFor(() => File.ResolveLinkTarget($"/proc/{child.Pid}/exe", false)?.FullName, exe => exe == "/usr/bin/sleep");
        var execed = reader.Read(child.Pid);

        Assert.Equal("sleep", execed.Name);
        Assert.Equal(forked.StartTimeTicks, execed.StartTimeTicks);
        Assert.Equal(0, reader.HeldStatFiles);
    }

    [Fact]
    public void ReadsOurOwnProcess()
    {
        using var reader = new ProcReader();
        var sample = reader.Read(Environment.ProcessId, out var failures);

        Assert.Equal(ProcReadFailures.None, failures);
        Assert.Equal(File.ResolveLinkTarget("/proc/self/exe", false)!.FullName, sample.Executable);
        Assert.Equal(Directory.GetCurrentDirectory(), sample.WorkingDirectory);
        Assert.Equal(Environment.GetCommandLineArgs()[^1], sample.Args![^1]);
        Assert.Contains(sample.State, "RS");
        Assert.NotEqual(0ul, sample.MountNamespace);
        Assert.True(reader.TryReadStat(Environment.ProcessId, out var stat));
        Assert.Equal(sample.StartTimeTicks, stat.StartTimeTicks);
    }

    [KernelFact]
    public void ReadsAHostileCommWrittenByTheKernel()
    {
        // Only a process itself may write its /proc/<pid>/comm: the shell's builtin printf does, then the shell
        // stays alive (the trailing ':' keeps it from exec'ing sleep, which would reset the name).
        using var child = ChildProcess.Start("/bin/sh", redirectOutput: true, "-c", "printf 'a) (b\\nc' > /proc/self/comm; echo ready; sleep 30; :");
        Assert.Equal("ready", child.ReadLine());
        using var reader = new ProcReader();

        var sample = reader.Read(child.Pid);

        Assert.Equal("a) (b\nc", sample.Name);
        Assert.Equal(Environment.ProcessId, sample.ParentPid);
        Assert.Equal("/bin/sh", sample.Args![0]);
        Assert.Null(sample.Errors);
    }

    [KernelFact]
    public void ReadsAOneMebibyteCommandLineCompletely()
    {
        // 16 arguments of 64 KiB (each under MAX_ARG_STRLEN, 128 KiB), about 1 MiB in all.
        var args = new List<string> { "-c", "sleep 30; :", "sh" };
        for (var i = 0; i < 16; i++)
        {
            args.Add(new string((char)('a' + i), 64 * 1024));
        }

        using var child = ChildProcess.Start("/bin/sh", args.ToArray());
        using var reader = new ProcReader(maxArgsBytes: 2 * 1024 * 1024);

        // Between fork and exec the child still shows the test host's command line: wait for the exec.
        var sample = WaitFor(() => reader.Read(child.Pid), s => s.Args is ["/bin/sh", ..]);

        Assert.Equal(["/bin/sh", .. args], sample.Args!);
        Assert.Null(sample.Errors);
    }

    [KernelFact]
    public void InvalidUtf8ArgumentsBecomeReplacementCharacters()
    {
        using var tree = new FakeProcTree();
        var script = Path.Combine(tree.Root, "run.sh");
        File.WriteAllText(script, "#!/bin/bash\nexec -a $'\\xff\\xfeX' /bin/sleep 30\n");
        using var child = ChildProcess.Start("/bin/bash", script);
        using var reader = new ProcReader();

        // exe changes early in exec, the argument area only once the new image's stack is set up: wait for both.
        var sample = WaitFor(() => reader.Read(child.Pid), s => s.Executable == "/usr/bin/sleep" && s.Args is { Length: > 0 });

        Assert.Equal(new[] { "\uFFFD\uFFFDX", "30" }, sample.Args);
    }

    [KernelFact]
    public void AZombieHasNoCmdlineAndExplicitErrors()
    {
        using var parent = ChildProcess.Start(NativeProgram.ZombieMaker, redirectOutput: true);
        var zombie = int.Parse(parent.ReadLine());
        foreach (var processCalls in new[] { true, false })
        {
            using var reader = new ProcReader(processCalls: processCalls);

            var sample = WaitFor(() => reader.Read(zombie), s => s.State == 'Z');

            Assert.Empty(sample.Args!);
            Assert.StartsWith("zombie", sample.Name);
            Assert.Contains($"cannot read /proc/{zombie}/exe: process exited (zombie)", sample.Errors!);
            Assert.Contains($"cannot read /proc/{zombie}/ns/mnt: process exited (zombie)", sample.Errors!);

            // A zombie keeps its credentials until it is reaped.
            Assert.Equal(new uint[] { 0, 0, 0, 0 }, sample.Uids);
            Assert.NotEqual(0ul, sample.CapEffective);
        }
    }

    [KernelFact]
    public void CountsTheTasksTheKernelStillCountsInAThreadGroupAndTellsZombies()
    {
        using var reader = new ProcReader();
        using var sleeper = ChildProcess.Start("/bin/sleep", "30");
        Assert.Equal(1, reader.CountThreads(sleeper.Pid));
        Assert.False(reader.IsZombie(sleeper.Pid));

        // Main thread ended (a zombie), one thread left: both count, so a group with threads left shows 2 or more.
        using var group = ChildProcess.Start(NativeProgram.MainThreadExitsFirst, redirectOutput: true);
        group.ReadLine();
        Assert.Equal('Z', WaitFor(() => reader.ReadStatOnly(group.Pid, out _), s => s.State == 'Z').State);
        Assert.Equal(2, reader.CountThreads(group.Pid));
        Assert.True(reader.IsZombie(group.Pid));

        // Ended, not reaped: the zombie alone. Reaped: gone.
        using var parent = ChildProcess.Start(NativeProgram.ZombieMaker, redirectOutput: true);
        var zombie = int.Parse(parent.ReadLine());
        Assert.Equal('Z', WaitFor(() => reader.ReadStatOnly(zombie, out _), s => s.State == 'Z').State);
        Assert.Equal(1, reader.CountThreads(zombie));
        Assert.True(reader.IsZombie(zombie));
        Assert.True(group.Process.WaitForExit(10_000));
        Assert.Equal(0, reader.CountThreads(group.Pid));
    }

    [KernelFact]
    public void SystemCallsAndFilesGiveTheSameSample()
    {
        // An unprivileged process with its own ids and no capabilities, and a root one with arguments that
        // need care (empty, spaces, non-ASCII).
        using var nobody = ChildProcess.Start("/usr/bin/setpriv", "--reuid=65534", "--regid=65533", "--clear-groups", "/bin/sleep", "30");
        using var root = ChildProcess.Start("/bin/sh", "-c", "sleep 30; :", "sh", "", "two words", "grüße");
        using var calls = new ProcReader();
        using var files = new ProcReader(processCalls: false);

        foreach (var (pid, executable) in new[] { (nobody.Pid, "/usr/bin/sleep"), (root.Pid, "/usr/bin/dash"), (Environment.ProcessId, null) })
        {
            var viaCalls = WaitFor(() => calls.Read(pid, out _), s => executable is null || s.Executable == executable);
            var viaFiles = files.Read(pid, out var fileFailures);

            Assert.Equal(ProcReadFailures.None, fileFailures);
            Assert.Null(viaCalls.Errors);
            Assert.Equal(viaFiles.Args, viaCalls.Args);
            Assert.Equal(viaFiles.Executable, viaCalls.Executable);
            Assert.Equal(viaFiles.WorkingDirectory, viaCalls.WorkingDirectory);
            Assert.Equal(viaFiles.Name, viaCalls.Name);
            Assert.Equal(viaFiles.StartTimeTicks, viaCalls.StartTimeTicks);
            Assert.Equal(viaFiles.Uids, viaCalls.Uids);
            Assert.Equal(viaFiles.Gids, viaCalls.Gids);
            Assert.Equal(viaFiles.CapEffective, viaCalls.CapEffective);
            Assert.Equal(viaFiles.CapPermitted, viaCalls.CapPermitted);
            Assert.Equal(viaFiles.MountNamespace, viaCalls.MountNamespace);
        }

        // From Linux 6.13 root has every call: none of them may have fallen back to the files.
        Assert.True(calls.CopiesArguments);
        Assert.Equal(Environment.OSVersion.Version >= new Version(6, 13), calls.ReadsIdentityFromPidfd);
        Assert.Equal(Environment.OSVersion.Version >= new Version(6, 13), calls.ReadsNamespaceFromPidfd);
        Assert.False(files.CopiesArguments);
        Assert.False(files.ReadsIdentityFromPidfd);

        var unprivileged = calls.Read(nobody.Pid);
        Assert.Equal(new uint[] { 65534, 65534, 65534, 65534 }, unprivileged.Uids);
        Assert.Equal(new uint[] { 65533, 65533, 65533, 65533 }, unprivileged.Gids);
        Assert.Equal(0ul, unprivileged.CapEffective);
        Assert.Equal(["/bin/sh", "-c", "sleep 30; :", "sh", "", "two words", "grüße"], calls.Read(root.Pid).Args!);
    }

    [KernelFact]
    public void ARewrittenArgumentAreaIsReadAsTheKernelShowsIt()
    {
        // setproctitle-style: the program writes a new title over its arguments and the NUL that ended them,
        // so /proc/<pid>/cmdline switches to reading up to the first NUL (into the environment). The copy
        // from memory must notice and give the file's view, not the raw area.
        using var child = ChildProcess.Start(NativeProgram.TitleRewriter, redirectOutput: true, "first", "second");
        Assert.Equal("ready", child.ReadLine());
        using var calls = new ProcReader();
        using var files = new ProcReader(processCalls: false);

        var expected = files.Read(child.Pid).Args!;
        Assert.StartsWith("rewritten-title", expected[0]);
        Assert.Equal(expected, calls.Read(child.Pid).Args);
    }

    [KernelFact]
    public void ProcessesVanishingMidReadNeverThrowAndAlwaysExplainWhatIsMissing()
    {
        using var reader = new ProcReader();
        for (var i = 0; i < 100; i++)
        {
            using var child = ChildProcess.Start("/bin/true");
            var sample = reader.Read(child.Pid, out var failures);

            // Every part is either present or named in the errors.
            Assert.Equal(sample.Args is null, (failures & ProcReadFailures.Cmdline) != 0);
            Assert.Equal(sample.Executable is null, (failures & ProcReadFailures.Exe) != 0);
            Assert.Equal(sample.StartTimeTicks == 0, (failures & ProcReadFailures.Stat) != 0);
            Assert.Equal(sample.Uids is null, (failures & ProcReadFailures.Status) != 0);
            Assert.Equal(sample.WorkingDirectory is null, (failures & ProcReadFailures.Cwd) != 0);
            Assert.Equal(sample.MountNamespace == 0, (failures & ProcReadFailures.Namespace) != 0);
            if ((failures & ProcReadFailures.AllKinds) != 0)
            {
                Assert.NotEmpty(sample.Errors!);
            }
        }
    }

    private static T WaitFor<T>(Func<T> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var value = read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            Thread.Sleep(10);
        }
    }
}
