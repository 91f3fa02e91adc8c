using global::System.Diagnostics;
using global::System.Security.Cryptography;
using global::System.Text;

namespace Shipper.Tests.Module.System.Process.Procfs;

/// <summary>
/// Builds a tiny C program with the system compiler (once per source text) for behaviour no stock tool gives
/// reliably: a lasting zombie, threads that fork and exit, exact exit paths.
/// </summary>
public static class NativeProgram
{
    private static readonly object Gate = new();

    public static string Build(string name, string source)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source)))[..16];
        var dir = Path.Combine(Path.GetTempPath(), "shipper-test-native");
        var binary = Path.Combine(dir, $"{name}-{hash}");
        lock (Gate)
        {
            if (File.Exists(binary))
            {
                return binary;
            }

            Directory.CreateDirectory(dir);
            var sourcePath = binary + ".c";
            File.WriteAllText(sourcePath, source);
            var info = new ProcessStartInfo("cc") { RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { "-O2", "-pthread", "-o", binary + ".tmp", sourcePath })
            {
                info.ArgumentList.Add(arg);
            }

            using var cc = global::System.Diagnostics.Process.Start(info)!;
            var errors = cc.StandardError.ReadToEnd();
            cc.WaitForExit();
            if (cc.ExitCode != 0)
            {
                throw new InvalidOperationException($"cc failed for {name}: {errors}");
            }

            File.Move(binary + ".tmp", binary, overwrite: true);
            return binary;
        }
    }

    /// <summary>Forks a child that exits at once and never reaps it; prints the zombie's pid, then sleeps.</summary>
    public static string ZombieMaker => Build("zombie", """
        #include <signal.h>
        #include <stdio.h>
        #include <unistd.h>
        int main(void) {
            signal(SIGCHLD, SIG_DFL); /* an inherited SIG_IGN would auto-reap the child */
            pid_t pid = fork();
            if (pid == 0) _exit(0);
            printf("%d\n", (int)pid);
            fflush(stdout);
            sleep(30);
            return 0;
        }
        """);

    /// <summary>
    /// Overwrites its whole argument area, including the NUL after the last argument, with a title (as
    /// setproctitle does), prints "ready", then sleeps.
    /// </summary>
    public static string TitleRewriter => Build("title", """
        #include <stdio.h>
        #include <string.h>
        #include <unistd.h>
        int main(int argc, char **argv) {
            char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
            size_t size = (size_t)(end - argv[0]);
            const char *title = "rewritten-title-that-is-long-enough";
            memset(argv[0], 'x', size);
            memcpy(argv[0], title, strlen(title) < size ? strlen(title) : size);
            printf("ready\n");
            fflush(stdout);
            sleep(30);
            return 0;
        }
        """);

    /// <summary>
    /// Starts a second thread, then prints CLOCK_MONOTONIC (ns) and ends its main thread with pthread_exit; the
    /// second thread calls exit(3) half a second later. With an argument it first prints "ready" and waits for a
    /// line on stdin.
    /// </summary>
    public static string MainThreadExitsFirst => Build("main-exits-first", """
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <time.h>
        #include <unistd.h>
        static int cue[2];
        static void *late(void *arg) {
            char c;
            (void)arg;
            if (read(cue[0], &c, 1) != 1) _exit(1);
            usleep(500000);
            exit(3);
        }
        int main(int argc, char **argv) {
            pthread_t t;
            char line[16];
            (void)argv;
            if (pipe(cue) != 0) return 1;
            pthread_create(&t, 0, late, 0);
            if (argc > 1) {
                printf("ready\n");
                fflush(stdout);
                if (!fgets(line, sizeof line, stdin)) return 1;
            }
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            printf("%lld\n", (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
            fflush(stdout);
            if (write(cue[1], "x", 1) != 1) return 1;
            pthread_exit(0);
        }
        """);

    /// <summary>Starts three threads that wait forever, prints "ready", and calls exit(7) from main.</summary>
    public static string ExitWhileThreadsRun => Build("exit-while-threads-run", """
        #include <pthread.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <unistd.h>
        static void *wait_forever(void *arg) { (void)arg; for (;;) pause(); }
        int main(void) {
            pthread_t t;
            for (int i = 0; i < 3; i++) pthread_create(&t, 0, wait_forever, 0);
            printf("ready\n");
            fflush(stdout);
            usleep(50000);
            exit(7);
        }
        """);

    /// <summary>
    /// A second thread execs <c>/bin/sh -c 'exit 4'</c> while main waits: the process goes on as sh. With an
    /// argument N it first fills N MiB of memory in small pages, which the exec then frees after the kernel has
    /// released the main thread and before it reports the exec (~60 ms for 512 MiB here).
    /// </summary>
    public static string ThreadExecs => Build("thread-execs", """
        #include <pthread.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/mman.h>
        #include <unistd.h>
        static void *run(void *arg) {
            (void)arg;
            usleep(100000);
            execl("/bin/sh", "sh", "-c", "exit 4", (char *)0);
            _exit(99);
        }
        int main(int argc, char **argv) {
            pthread_t t;
            if (argc > 1 && atoi(argv[1]) > 0) {
                /* Small pages: freeing 512 MiB of them takes the kernel ~60 ms here (huge pages, ~1 ms). */
                size_t size = (size_t)atoi(argv[1]) << 20;
                char *memory = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if (memory == MAP_FAILED) return 1;
                madvise(memory, size, MADV_NOHUGEPAGE);
                memset(memory, 1, size);
            }
            pthread_create(&t, 0, run, 0);
            for (;;) pause();
        }
        """);

    /// <summary>
    /// Gives one pid to two processes within a millisecond or two (root: it writes
    /// <c>/proc/sys/kernel/ns_last_pid</c>): child A reports its start tick and exits without exec; once it is
    /// reaped, child B gets A's pid, reports its start tick and execs argv[1..]. Tries again when another process
    /// takes the pid first. Prints "pid tickA tickB", then waits for B; exits 2 when it never got the pid.
    /// </summary>
    public static string PidReuser => Build("pid-reuser", """
        #include <fcntl.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/wait.h>
        #include <unistd.h>
        static unsigned long long start_tick(void) {
            char buf[1024];
            int fd = open("/proc/self/stat", O_RDONLY);
            ssize_t n = read(fd, buf, sizeof buf - 1);
            close(fd);
            buf[n > 0 ? n : 0] = 0;
            char *p = strrchr(buf, ')');
            if (!p) return 0;
            int field = 2; /* p ends field 2 (comm); starttime is field 22 */
            while (*p && field < 22) { if (*p == ' ') field++; p++; }
            return strtoull(p, 0, 10);
        }
        static void report(int fd) {
            unsigned long long tick = start_tick();
            write(fd, &tick, sizeof tick);
        }
        int main(int argc, char **argv) {
            if (argc < 2) return 64;
            for (int attempt = 0; attempt < 100; attempt++) {
                int a_out[2], b_out[2], go[2];
                unsigned long long tick_a = 0, tick_b = 0;
                char verdict;
                pipe(a_out); pipe(b_out); pipe(go);
                pid_t a = fork();
                if (a == 0) { report(a_out[1]); _exit(0); }
                read(a_out[0], &tick_a, sizeof tick_a);
                waitpid(a, 0, 0);
                int last = open("/proc/sys/kernel/ns_last_pid", O_WRONLY);
                if (last < 0) { perror("ns_last_pid"); return 1; }
                dprintf(last, "%d", (int)a - 1);
                close(last);
                pid_t b = fork();
                if (b == 0) {
                    report(b_out[1]);
                    if (read(go[0], &verdict, 1) == 1 && verdict == 'x') execv(argv[1], argv + 1);
                    _exit(1);
                }
                read(b_out[0], &tick_b, sizeof tick_b);
                write(go[1], b == a ? "x" : "n", 1);
                close(a_out[0]); close(a_out[1]); close(b_out[0]); close(b_out[1]); close(go[0]); close(go[1]);
                if (b != a) { waitpid(b, 0, 0); continue; }
                printf("%d %llu %llu\n", (int)a, tick_a, tick_b);
                fflush(stdout);
                waitpid(b, 0, 0);
                return 0;
            }
            return 2;
        }
        """);
}
