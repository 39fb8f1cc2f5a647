/*
 * The `make check` side of every fuzz target: a plain program that feeds the
 * committed corpus (tests/fuzz/corpus/FUZZ_CORPUS, or the files given as
 * arguments) through the target's LLVMFuzzerTestOneInput, so every input that
 * once found a bug keeps being replayed under the sanitizers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	char dir[1024];
	const char *srcdir = getenv("srcdir");
	int files = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (replay_file(argv[i]) == 0)
				files++;
	} else {
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", srcdir ? srcdir : ".",
			 FUZZ_CORPUS);
		DIR *d = opendir(dir);
		if (!d) {
			perror(dir);
			return 1;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			char path[2048];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (replay_file(path) == 0)
				files++;
		}
		closedir(d);
	}
	printf("replayed %d inputs\n", files);
	return files > 0 ? 0 : 1;
}
