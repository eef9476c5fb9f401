// SPDX-License-Identifier: MIT
/*
 * lg-init: /init of a test initramfs for a linux-guest VM (static, no
 * busybox).  Mounts proc, sys and devtmpfs, runs each line of /lg-steps as a
 * command (words split on blanks, PATH search), then reports through the
 * debug-exit port 0xf4: 0 if every step exited 0, else the first failing
 * step's status (127 for a signal).  Powers off as a fallback.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define EXIT_PORT	0xf4
#define MAX_ARGS	64

static int run_step(char *line)
{
	char *argv[MAX_ARGS + 1], *save = NULL;
	int argc = 0, status;
	pid_t pid;

	line[strcspn(line, "\n")] = 0;
	if (!line[strspn(line, " \t")] || line[strspn(line, " \t")] == '#')
		return 0;
	printf("LG: step: %s\n", line);
	fflush(stdout);
	for (char *w = strtok_r(line, " \t", &save); w && argc < MAX_ARGS;
	     w = strtok_r(NULL, " \t", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], argv);
		perror(argv[0]);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		perror("LG: fork/wait");
		return 127;
	}
	if (WIFEXITED(status)) {
		printf("LG: exit status %d: %s\n", WEXITSTATUS(status), argv[0]);
		return WEXITSTATUS(status) > 127 ? 127 : WEXITSTATUS(status);
	}
	printf("LG: killed by signal %d: %s\n", WTERMSIG(status), argv[0]);
	return 127;
}

int main(void)
{
	char line[4096], up[64] = "?";
	int code = 0, fd;
	FILE *f;

	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	/* An initramfs without /dev/console leaves init without stdio. */
	if (fcntl(1, F_GETFD) < 0) {
		fd = open("/dev/console", O_RDWR);
		for (int i = 0; fd >= 0 && i < 3; i++)
			dup2(fd, i);
	}
	setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);

	f = fopen("/proc/uptime", "r");
	if (f) {
		if (fscanf(f, "%63s", up) != 1)
			strcpy(up, "?");
		fclose(f);
	}
	printf("LG: init reached (uptime %s s)\n", up);
	fflush(stdout);

	f = fopen("/lg-steps", "r");
	while (f && fgets(line, sizeof(line), f)) {
		int rc = run_step(line);

		if (rc && !code)
			code = rc;
	}
	if (f)
		fclose(f);

	printf("LG: done, exit code %d\n", code);
	fflush(stdout);
	tcdrain(1);		/* the VMM stops at the port write */
	if (ioperm(EXIT_PORT, 1, 1) == 0)
		outb((code << 1) | 1, EXIT_PORT);
	else
		perror("LG: ioperm");
	sync();
	reboot(RB_POWER_OFF);
	return code;
}
