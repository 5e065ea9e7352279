# crashy: a program that dies at once, the way a Python service with a missing module does.
# CRASHY=oom instead allocates past its memory limit (one 200 MB line held by tail).
echo "crashy: starting"
if [ "$CRASHY" = oom ]; then
  echo "crashy: reading 200 MB into memory"
  busybox head -c 200m /dev/zero | busybox tail -n 1 >/dev/null
  echo "crashy: still alive?"
  exit 0
fi
echo 'Traceback (most recent call last):' >&2
echo '  File "/app/main.py", line 1, in <module>' >&2
echo "ModuleNotFoundError: No module named 'http'" >&2
exit 1
