/*
 * Process storm generator for tests/bench/process-storm.sh: fork + exec /bin/true + wait, N times, as fast
 * as the machine allows. Child i runs "/bin/true storm-<tag>-<i>" so a listener's report can be checked
 * argument by argument. Writes "<pid> <i>" per child to <pids-file> at the end (not during the storm, so
 * the generator itself does no I/O while listeners race it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s <count> <tag> <pids-file>\n", argv[0]);
        return 2;
    }
    long count = atol(argv[1]);
    const char *tag = argv[2];
    pid_t *pids = calloc((size_t)count, sizeof(pid_t));
    if (pids == NULL) {
        perror("calloc");
        return 1;
    }

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) {
        char marker[96];
        snprintf(marker, sizeof marker, "storm-%s-%ld", tag, i);
        pid_t pid = fork();
        if (pid == 0) {
            char *child_argv[] = { "/bin/true", marker, NULL };
            execv("/bin/true", child_argv);
            _exit(127);
        }
        if (pid < 0) {
            perror("fork");
            usleep(1000);
            i--;
            continue;
        }
        pids[i] = pid;
        waitpid(pid, NULL, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);

    double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    FILE *out = fopen(argv[3], "w");
    if (out == NULL) {
        perror(argv[3]);
        return 1;
    }
    for (long i = 0; i < count; i++) {
        fprintf(out, "%d %ld\n", (int)pids[i], i);
    }
    fclose(out);
    fprintf(stderr, "storm: %ld processes in %.3f s (%.0f/s)\n", count, seconds, (double)count / seconds);
    return 0;
}
