/*
 * Process storm generator for the system/process benchmark: fork + exec /bin/true <marker>-<i> + wait,
 * COUNT times, as fast as the machine allows. Writes the child pids (one per line) to PIDFILE so the
 * benchmark can tell the storm's processes from everything else. Prints the achieved rate on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: %s COUNT MARKER PIDFILE\n", argv[0]);
		return 2;
	}
	long count = atol(argv[1]);
	const char *marker = argv[2];
	FILE *pids = fopen(argv[3], "w");
	if (pids == NULL) {
		perror(argv[3]);
		return 1;
	}
	char arg[128];
	char *child_argv[] = { "/bin/true", arg, NULL };
	char *child_env[] = { NULL };
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < count; i++) {
		snprintf(arg, sizeof(arg), "%s-%ld", marker, i);
		pid_t pid = fork();
		if (pid == 0) {
			execve("/bin/true", child_argv, child_env);
			_exit(127);
		}
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		fprintf(pids, "%d\n", (int)pid);
		int status;
		waitpid(pid, &status, 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	fclose(pids);
	double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
	fprintf(stderr, "storm: %ld processes in %.2f s = %.0f/s\n", count, seconds, count / seconds);
	return 0;
}
