# server2.py from seed 004 (part 2, the UDP heartbeat server), Python 3
# already. Changes: host and port come from argv (port 0 = any; an IPv6 host
# gets an AF_INET6 socket) and the bound address is printed for the test
# harness. The loss (random, unseeded, 3 in 10) and the reply are the seed's.
import random
import sys
from socket import *  # socket Library
import time  # time Library

host = sys.argv[1] if len(sys.argv) > 1 else '127.0.0.1'
port = int(sys.argv[2]) if len(sys.argv) > 2 else 12000
serverSocket = socket(AF_INET6 if ':' in host else AF_INET, SOCK_DGRAM)
serverSocket.bind((host, port))
port = serverSocket.getsockname()[1]
print("Started UDP Server IP Address: %s and Port: %d" % (host, port))
print("listening on %s:%d" % ('[%s]' % host if ':' in host else host, port), flush=True)

while True:  # Run program forever
    rand = random.randint(1, 10)  # random number between 0 and 10
    message, address = serverSocket.recvfrom(1024)
    recv_time = time.time()  # Record the time the message was received
    if rand < 4:  # < 30% without reply message
        continue
    seq_num, timestamp = message.decode().split()
    timestamp = float(timestamp)
    time_diff = recv_time - timestamp
    response_message = f'{seq_num} {time_diff}'
    serverSocket.sendto(response_message.encode(), address)  # Send the time difference back
