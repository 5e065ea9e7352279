# crashy: a program that dies at once, the way a Python service with a missing module does.
# CRASHY=oom instead allocates past its memory limit: tail, as the instance's process
# (exec), holds the last line of /dev/zero, which has no end and no newline.
echo "crashy: starting"
if [ "$CRASHY" = oom ]; then
  echo "crashy: reading /dev/zero into memory"
  exec busybox tail -n 1 /dev/zero
fi
echo 'Traceback (most recent call last):' >&2
echo '  File "/app/main.py", line 1, in <module>' >&2
echo "ModuleNotFoundError: No module named 'http'" >&2
exit 1
